// The extension side of the Tabwright bridge protocol (see PROTOCOL.md): constants and the
// chunk reassembly for host messages over Chrome's 1 MiB native-messaging limit.

/** The native-messaging host name registered by `tabwright install`. */
export const HOST_NAME = "com.tabwright.host";

/** The protocol version this extension speaks. */
export const PROTOCOL_VERSION = 1;

/** The oldest host protocol version this extension accepts. */
export const MIN_PROTOCOL_VERSION = 1;

/** The title of the tab group Tabwright works in. */
export const GROUP_TITLE = "Tabwright";

/** Joins `chunk` messages (id, seq, last, data) back into whole messages. */
export class Reassembler {
  constructor() {
    this.parts = new Map();
  }

  /** Returns the whole message, or null while parts are missing. Throws on a broken sequence. */
  feed(msg) {
    if (msg.type !== "chunk") return msg;
    const entry = this.parts.get(msg.id) ?? { seq: 0, data: [] };
    if (entry.seq !== msg.seq) {
      this.parts.delete(msg.id);
      throw new Error(`chunk ${msg.seq} of message ${msg.id} arrived out of order`);
    }
    entry.seq += 1;
    entry.data.push(msg.data);
    if (!msg.last) {
      this.parts.set(msg.id, entry);
      return null;
    }
    this.parts.delete(msg.id);
    return JSON.parse(entry.data.join(""));
  }
}
