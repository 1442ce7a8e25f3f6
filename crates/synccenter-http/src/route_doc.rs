//! What the route table says about each route, apart from the handlers it routes to: the OpenAPI document is
//! built from these descriptions alone, so it needs neither the router nor the handlers.

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamIn {
    /// In the path (`{name}`).
    Path,
    Query,
    Header,
}

/// A parameter of a route.
#[derive(Clone, Copy, Debug)]
pub struct ParamDoc {
    pub name: &'static str,
    pub location: ParamIn,
    /// JSON Schema type: `string`, `integer` or `boolean`.
    pub kind: &'static str,
    pub description: &'static str,
}

/// A route as the OpenAPI document and `docs/dashboard.md` describe it.
#[derive(Clone, Copy, Debug)]
pub struct RouteDoc {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// Path with `{param}` placeholders.
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Path, query and header parameters.
    pub params: &'static [ParamDoc],
    /// The request body's schema name in the OpenAPI components, if any.
    pub body: Option<&'static str>,
    /// The response: a schema name in the components, or a media type (`text/html` …).
    pub response: &'static str,
    /// The route needs the token.
    pub auth: bool,
}

/// A [`ParamDoc`] in one short call, for the route table's many of them.
pub(crate) const fn param(
    name: &'static str,
    location: ParamIn,
    kind: &'static str,
    description: &'static str,
) -> ParamDoc {
    ParamDoc { name, location, kind, description }
}
