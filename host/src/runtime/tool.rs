//! The [`Tool`] trait every registry entry implements, and the typed [`Handler`] most tools are
//! written as: parse once, declare the call's effects, run.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{parse_args, ToolContext, ToolError, ToolOutput, ToolSpec};
use crate::policy::Effects;
use crate::BoxFuture;

/// One registry entry: browser tools, file tools, the agent's own tools, connector tools.
pub trait Tool: Send + Sync {
    /// Its public description.
    fn spec(&self) -> &ToolSpec;
    /// Checks the arguments and prepares the call; bad arguments are a tool error naming the
    /// field.
    fn parse(&self, args: Value) -> Result<Box<dyn Invocation>, ToolError>;
}

/// One parsed call, ready to declare its effects and run.
pub trait Invocation: Send + Sync {
    /// What the call will do, looked up where needed (the element that will receive the event,
    /// the page it acts on). Only asked when a policy is on; a class left unset means the
    /// spec's class.
    fn effects<'a>(&'a self, ctx: &'a ToolContext) -> BoxFuture<'a, Effects>;
    /// Runs it.
    fn run<'a>(
        self: Box<Self>,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// A tool written with typed arguments (see the `tool!` macro).
pub trait Handler: Send + Sync + 'static {
    /// The arguments.
    type Args: DeserializeOwned + Send + Sync + 'static;
    /// The tool's description.
    fn spec() -> ToolSpec;
    /// What a call does ([`spec_effects`] for the spec's class, nothing looked up).
    fn effects<'a>(ctx: &'a ToolContext, args: &'a Self::Args) -> BoxFuture<'a, Effects>;
    /// Runs a call.
    fn run<'a>(
        ctx: &'a ToolContext,
        args: Self::Args,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
}

/// A [`Handler`] as a registry entry.
pub struct Typed<H: Handler> {
    spec: ToolSpec,
    _h: PhantomData<fn() -> H>,
}

impl<H: Handler> Typed<H> {
    /// The entry.
    pub fn new() -> Typed<H> {
        Typed {
            spec: H::spec(),
            _h: PhantomData,
        }
    }
}

impl<H: Handler> Default for Typed<H> {
    fn default() -> Self {
        Typed::new()
    }
}

struct TypedCall<H: Handler> {
    args: H::Args,
}

impl<H: Handler> Tool for Typed<H> {
    fn spec(&self) -> &ToolSpec {
        &self.spec
    }

    fn parse(&self, args: Value) -> Result<Box<dyn Invocation>, ToolError> {
        let args: H::Args = parse_args(&self.spec.name, args)?;
        Ok(Box::new(TypedCall::<H> { args }))
    }
}

impl<H: Handler> Invocation for TypedCall<H> {
    fn effects<'a>(&'a self, ctx: &'a ToolContext) -> BoxFuture<'a, Effects> {
        H::effects(ctx, &self.args)
    }

    fn run<'a>(
        self: Box<Self>,
        ctx: &'a ToolContext,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        H::run(ctx, self.args)
    }
}

/// The effects of a call that looks nothing up: the spec's class, nothing else.
pub async fn spec_effects<A>(_ctx: &ToolContext, _args: &A) -> Effects {
    Effects::default()
}

/// Defines a tool: `tool!(Name, Args, spec, handler)` or with a fifth argument, the async
/// function that declares a call's effects (`async fn(&ToolContext, &Args) -> Effects`). The
/// handler is `async fn(&ToolContext, Args) -> Result<ToolOutput, ToolError>`.
#[macro_export]
#[doc(hidden)]
macro_rules! tool {
    ($ty:ident, $args:ty, $spec:expr, $handler:path) => {
        $crate::tool!($ty, $args, $spec, $handler, $crate::runtime::spec_effects);
    };
    ($ty:ident, $args:ty, $spec:expr, $handler:path, $effects:path) => {
        struct $ty;
        impl $crate::runtime::Handler for $ty {
            type Args = $args;
            fn spec() -> $crate::runtime::ToolSpec {
                $spec
            }
            fn effects<'a>(
                ctx: &'a $crate::runtime::ToolContext,
                args: &'a $args,
            ) -> $crate::BoxFuture<'a, $crate::policy::Effects> {
                Box::pin($effects(ctx, args))
            }
            fn run<'a>(
                ctx: &'a $crate::runtime::ToolContext,
                args: $args,
            ) -> $crate::BoxFuture<
                'a,
                Result<$crate::runtime::ToolOutput, $crate::runtime::ToolError>,
            > {
                Box::pin($handler(ctx, args))
            }
        }
    };
}
