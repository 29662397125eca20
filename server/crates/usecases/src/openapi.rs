//! OpenAPI documents (3.0 and 3.1, JSON or YAML) as methods of an HTTP
//! upstream service: one method per operation, named by its
//! `operationId`, its route from the path, its parameters and request body
//! for the invocation page, and `servers[0].url` as the proposed base URL.
//!
//! The document is checked against the OpenAPI model of its version by a
//! maintained crate (`openapiv3` for 3.0, `oas3` for 3.1), so a document
//! that is not OpenAPI is refused naming the JSON pointer of the problem;
//! the few fields a method needs are then read from the checked document.

use std::collections::BTreeSet;

use policy::routes::{Route, MAX_ROUTE_CHARS};
use policy::upstream::MethodInput;
use policy::wire::{Param, ParamLocation, Verb};
use serde_json::{Map, Value};

/// Largest document accepted, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Where a document is wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// A JSON pointer (RFC 6901) into the document; empty for the whole.
    pub pointer: String,
    pub message: String,
}

fn error(pointer: impl Into<String>, message: impl Into<String>) -> DocumentError {
    DocumentError {
        pointer: pointer.into(),
        message: message.into(),
    }
}

/// What a document yields.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub title: String,
    /// `servers[0].url`, when it is an absolute http(s) URL.
    pub base_url: Option<String>,
    pub methods: Vec<MethodInput>,
}

/// One step of a JSON pointer, escaped (`~` as `~0`, `/` as `~1`).
pub fn pointer_step(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The document as JSON: a JSON object as given, or text holding JSON or YAML.
pub fn document_value(document: Value) -> Result<Value, DocumentError> {
    let text = match document {
        Value::String(text) => text,
        Value::Object(_) => return Ok(document),
        _ => {
            return Err(error(
                "",
                "the document is an object, or text holding JSON or YAML",
            ))
        }
    };
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(error(
            "",
            format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    let trimmed = text.trim_start();
    let value: Value = if trimmed.starts_with('{') {
        serde_json::from_str(&text)
            .map_err(|e| error("", format!("the document is not valid JSON: {e}")))?
    } else {
        crate::yaml::from_str(&text)
            .map_err(|e| error("", format!("the document is not valid YAML: {e}")))?
    };
    if !value.is_object() {
        return Err(error("", "the document is not an object"));
    }
    Ok(value)
}

/// serde's path to a JSON pointer.
fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                pointer.push('/');
                pointer.push_str(&pointer_step(key));
            }
            Segment::Enum { .. } | Segment::Unknown => {}
        }
    }
    pointer
}

/// Checks the document against the model of its OpenAPI version.
fn check_model(document: &Value) -> Result<(), DocumentError> {
    let version = match document.get("openapi") {
        Some(Value::String(version)) => version.as_str(),
        Some(_) => {
            return Err(error(
                "/openapi",
                "`openapi` is a version string such as `3.1.0`",
            ))
        }
        None if document.get("swagger").is_some() => {
            return Err(error(
                "/swagger",
                "Swagger 2.0 documents are not supported: convert it to OpenAPI 3",
            ))
        }
        None => return Err(error("/openapi", "`openapi` (the version) is missing")),
    };
    if version.starts_with("3.0.") {
        check_as::<openapiv3::OpenAPI, openapiv3::PathItem>(document)
    } else if version.starts_with("3.1.") {
        check_as::<oas3::Spec, oas3::spec::PathItem>(document)
    } else {
        Err(error(
            "/openapi",
            format!("OpenAPI `{version}` is not supported: 3.0.x or 3.1.x"),
        ))
    }
}

/// The document as a `Doc`; where the model loses track of the place (its
/// maps of paths are read by hand), each path item is read alone as an
/// `Item` to say which one is wrong, and where in it.
fn check_as<Doc, Item>(document: &Value) -> Result<(), DocumentError>
where
    Doc: serde::de::DeserializeOwned,
    Item: serde::de::DeserializeOwned,
{
    let Err(problem) = serde_path_to_error::deserialize::<_, Doc>(document) else {
        return Ok(());
    };
    let pointer = pointer_of(problem.path());
    if pointer == "/paths" {
        if let Some(Value::Object(paths)) = document.get("paths") {
            for (path, item) in paths {
                if item.get("$ref").is_some() {
                    continue;
                }
                if let Err(inner) = serde_path_to_error::deserialize::<_, Item>(item) {
                    return Err(error(
                        format!("/paths/{}{}", pointer_step(path), pointer_of(inner.path())),
                        inner.inner().to_string(),
                    ));
                }
            }
        }
    }
    Err(error(pointer, problem.inner().to_string()))
}

/// The part of the document a local `$ref` (`#/...`, percent-encoded or
/// not) names.
fn target<'d>(document: &'d Value, reference: &str, at: &str) -> Result<&'d Value, DocumentError> {
    reference
        .strip_prefix('#')
        .and_then(|fragment| policy::routes::decode_segment(fragment).ok())
        .and_then(|pointer| document.pointer(&pointer))
        .ok_or_else(|| {
            error(
                format!("{at}/$ref"),
                format!("`{reference}` does not name a part of this document"),
            )
        })
}

/// Follows a local `$ref` (`#/...`) from `at`; other values come back as
/// they are. A `$ref` that leads nowhere, or round in a circle, is an error
/// at `at`.
fn resolve<'d>(
    document: &'d Value,
    value: &'d Value,
    at: &str,
) -> Result<&'d Value, DocumentError> {
    let mut current = value;
    // MAX_REF_CHAIN links followed, and the value the last leads to read
    for _ in 0..=MAX_REF_CHAIN {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            return Ok(current);
        };
        current = target(document, reference, at)?;
    }
    Err(error(
        format!("{at}/$ref"),
        format!("these `$ref`s go round in a circle, or lead to more than {MAX_REF_CHAIN} others in a row"),
    ))
}

/// Most `$ref`s followed in a row, one leading to the next, before a
/// schema that is not one.
const MAX_REF_CHAIN: usize = 64;

/// Most schema parts one document's request bodies may expand to with
/// their `$ref`s followed.
const MAX_INLINED_PARTS: usize = 50_000;

/// Request body schemas with their `$ref`s followed, for the invocation
/// page: a few levels deep, a `$ref` inside its own expansion left as it
/// is, and at most [`MAX_INLINED_PARTS`] parts for the whole document.
struct Inliner<'d> {
    document: &'d Value,
    left: usize,
    expanding: Vec<String>,
}

impl<'d> Inliner<'d> {
    fn new(document: &'d Value) -> Inliner<'d> {
        Inliner {
            document,
            left: MAX_INLINED_PARTS,
            expanding: Vec::new(),
        }
    }

    /// A chain of `$ref`s followed in a loop, not a call per link (a
    /// document's chain may be long enough to exhaust the stack), to the
    /// schema it ends at, inlined; the refs it opens are left on
    /// `expanding` for the caller to close.
    fn follow(&mut self, schema: &'d Value, at: &str, depth: u8) -> Result<Value, DocumentError> {
        let mut current = schema;
        let mut links = 0;
        while let Some(reference) = current.get("$ref").and_then(Value::as_str) {
            if self.expanding.iter().any(|open| open == reference) {
                // recursive: it stops here
                return Ok(current.clone());
            }
            if links == MAX_REF_CHAIN {
                return Err(error(
                    format!("{at}/$ref"),
                    format!("these `$ref`s lead to more than {MAX_REF_CHAIN} others in a row"),
                ));
            }
            links += 1;
            // each link is work: it counts toward the document's parts
            if self.left == 0 {
                return Err(error(
                    at,
                    format!("the request bodies' schemas expand to more than {MAX_INLINED_PARTS} parts with their `$ref`s followed"),
                ));
            }
            self.left -= 1;
            self.expanding.push(reference.to_string());
            current = target(self.document, reference, at)?;
        }
        self.inline(current, at, depth)
    }

    fn inline(&mut self, schema: &'d Value, at: &str, depth: u8) -> Result<Value, DocumentError> {
        if depth == 0 {
            return Ok(Value::Object(Map::new()));
        }
        if self.left == 0 {
            return Err(error(
                at,
                format!("the request bodies' schemas expand to more than {MAX_INLINED_PARTS} parts with their `$ref`s followed"),
            ));
        }
        self.left -= 1;
        if schema.get("$ref").is_some() {
            let opened = self.expanding.len();
            let inlined = self.follow(schema, at, depth);
            self.expanding.truncate(opened);
            return inlined;
        }
        let Value::Object(map) = schema else {
            return Ok(schema.clone());
        };
        let mut out = Map::new();
        for (key, value) in map {
            let here = format!("{at}/{}", pointer_step(key));
            let inlined = match (key.as_str(), value) {
                ("properties", Value::Object(properties)) => {
                    let mut inner = Map::new();
                    for (name, property) in properties {
                        let there = format!("{here}/{}", pointer_step(name));
                        inner.insert(name.clone(), self.inline(property, &there, depth - 1)?);
                    }
                    Value::Object(inner)
                }
                ("items" | "additionalProperties", Value::Object(_)) => {
                    self.inline(value, &here, depth - 1)?
                }
                _ => value.clone(),
            };
            out.insert(key.clone(), inlined);
        }
        Ok(Value::Object(out))
    }
}

/// A value to start from: the schema's example or default, or one of its type.
fn example_of(schema: &Value, depth: u8) -> Value {
    if let Some(example) = schema
        .get("example")
        .or_else(|| schema.get("default"))
        .or_else(|| schema.get("examples").and_then(|examples| examples.get(0)))
    {
        return example.clone();
    }
    if let Some(first) = schema.get("enum").and_then(|values| values.get(0)) {
        return first.clone();
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.as_str(),
        // 3.1: a list of types, such as ["string", "null"]
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|kind| *kind != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "",
    };
    match kind {
        "object" if depth > 0 => {
            let mut out = Map::new();
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (name, property) in properties {
                    out.insert(name.clone(), example_of(property, depth - 1));
                }
            }
            Value::Object(out)
        }
        "array" if depth > 0 => Value::Array(
            schema
                .get("items")
                .map(|items| vec![example_of(items, depth - 1)])
                .unwrap_or_default(),
        ),
        "string" => Value::String(String::new()),
        "integer" | "number" => Value::from(0),
        "boolean" => Value::Bool(false),
        _ => Value::Null,
    }
}

/// A method name from an `operationId`: characters a name may not hold
/// become `_`.
fn method_name(operation_id: &str) -> String {
    let mut name: String = operation_id
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if name.starts_with(['.', '-']) || name.is_empty() {
        name.insert(0, '_');
        name.truncate(100);
    }
    name
}

/// The name of an operation without an `operationId`: the verb and the path.
fn generated_name(verb: Verb, path: &str) -> String {
    let mut name = verb.as_str().to_ascii_lowercase();
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        name.push('_');
        name.push_str(segment.trim_start_matches('{').trim_end_matches('}'));
    }
    method_name(&name)
}

const VERBS: [(&str, Verb); 5] = [
    ("get", Verb::Get),
    ("post", Verb::Post),
    ("put", Verb::Put),
    ("patch", Verb::Patch),
    ("delete", Verb::Delete),
];

/// The document's methods, in its order.
pub fn parse(document: Value) -> Result<Imported, DocumentError> {
    let document = document_value(document)?;
    check_model(&document)?;
    let title = document
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let base_url = document
        .pointer("/servers/0/url")
        .and_then(Value::as_str)
        .filter(|url| url.starts_with("http://") || url.starts_with("https://"))
        .map(str::to_string);
    let mut methods = Vec::new();
    let mut names = BTreeSet::new();
    let mut inliner = Inliner::new(&document);
    let Some(Value::Object(paths)) = document.get("paths") else {
        return Ok(Imported {
            title,
            base_url,
            methods,
        });
    };
    for (path, item) in paths {
        let at = format!("/paths/{}", pointer_step(path));
        if path.chars().count() > MAX_ROUTE_CHARS {
            return Err(error(at, "the path is too long"));
        }
        Route::parse(path).map_err(|problem| error(&at, problem))?;
        let item = resolve(&document, item, &at)?;
        let shared = item
            .get("parameters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (key, verb) in VERBS {
            let Some(operation) = item.get(key) else {
                continue;
            };
            let op_at = format!("{at}/{key}");
            let name = match operation.get("operationId").and_then(Value::as_str) {
                Some(id) => method_name(id),
                None => generated_name(verb, path),
            };
            if !names.insert(name.to_lowercase()) {
                return Err(error(
                    format!("{op_at}/operationId"),
                    format!("two operations make a method named `{name}`"),
                ));
            }
            let own = operation
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let params = parameters(&document, &shared, &at, &own, &op_at)?;
            let (body, body_example) = request_body(&document, &mut inliner, operation, &op_at)?;
            let example = Some(method_example(verb, &params, body_example));
            let description = operation
                .get("summary")
                .or_else(|| operation.get("description"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            methods.push(MethodInput {
                name,
                verb: Some(verb),
                route: Some(path.clone()),
                description,
                params,
                body,
                example,
            });
        }
    }
    Ok(Imported {
        title,
        base_url,
        methods,
    })
}

/// The invocation page's starting arguments, as a call by name takes them:
/// for GET and DELETE the path and query parameters as text; otherwise the
/// body's example, with the path parameters added when it is an object.
fn method_example(verb: Verb, params: &[Param], body: Option<Value>) -> Value {
    let text = |param: &Param| match &param.example {
        Some(Value::String(text)) => Value::String(text.clone()),
        Some(Value::Null) | None => Value::String(String::new()),
        Some(other) => Value::String(other.to_string()),
    };
    let wanted = |param: &&Param| match verb {
        Verb::Get | Verb::Delete => param.location != ParamLocation::Header,
        _ => param.location == ParamLocation::Path,
    };
    match (verb, body) {
        (Verb::Get | Verb::Delete, _) | (_, None) => Value::Object(
            params
                .iter()
                .filter(wanted)
                .map(|param| (param.name.clone(), text(param)))
                .collect(),
        ),
        (_, Some(Value::Object(mut fields))) => {
            for param in params.iter().filter(wanted) {
                fields.insert(param.name.clone(), text(param));
            }
            Value::Object(fields)
        }
        (_, Some(other)) => other,
    }
}

/// An operation's parameters: the path item's, overridden by the
/// operation's own of the same name and place. Cookie parameters are left
/// out (the gateway does not forward cookies).
fn parameters(
    document: &Value,
    shared: &[Value],
    shared_at: &str,
    own: &[Value],
    own_at: &str,
) -> Result<Vec<Param>, DocumentError> {
    let mut params: Vec<Param> = Vec::new();
    let lists = [
        (shared, format!("{shared_at}/parameters")),
        (own, format!("{own_at}/parameters")),
    ];
    for (list, list_at) in lists {
        for (index, raw) in list.iter().enumerate() {
            let at = format!("{list_at}/{index}");
            let param = resolve(document, raw, &at)?;
            let name = param
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let location = match param.get("in").and_then(Value::as_str) {
                Some("path") => ParamLocation::Path,
                Some("query") => ParamLocation::Query,
                Some("header") => ParamLocation::Header,
                _ => continue,
            };
            let schema = match param.get("schema") {
                Some(schema) => resolve(document, schema, &format!("{at}/schema"))?.clone(),
                None => Value::Null,
            };
            let example = param
                .get("example")
                .cloned()
                .or_else(|| (!schema.is_null()).then(|| example_of(&schema, 2)))
                .filter(|value| !value.is_null());
            let entry = Param {
                name: name.to_string(),
                location,
                required: param
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                description: param
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                example,
            };
            params.retain(|p| !(p.name == entry.name && p.location == entry.location));
            params.push(entry);
        }
    }
    Ok(params)
}

/// The JSON request body's schema (its `$ref`s followed) and an example.
fn request_body<'d>(
    document: &'d Value,
    inliner: &mut Inliner<'d>,
    operation: &'d Value,
    at: &str,
) -> Result<(Option<Value>, Option<Value>), DocumentError> {
    let Some(body) = operation.get("requestBody") else {
        return Ok((None, None));
    };
    let body_at = format!("{at}/requestBody");
    let body = resolve(document, body, &body_at)?;
    let Some(Value::Object(content)) = body.get("content") else {
        return Ok((None, None));
    };
    let json = content
        .iter()
        .find(|(media, _)| {
            let media = media.to_ascii_lowercase();
            media.starts_with("application/json") || media.ends_with("+json")
        })
        .or_else(|| content.iter().next());
    let Some((media, media_type)) = json else {
        return Ok((None, None));
    };
    let media_at = format!("{body_at}/content/{}", pointer_step(media));
    let schema = match media_type.get("schema") {
        Some(schema) => Some(inliner.inline(schema, &format!("{media_at}/schema"), 6)?),
        None => None,
    };
    let example = media_type
        .get("example")
        .cloned()
        .or_else(|| schema.as_ref().map(|schema| example_of(schema, 4)));
    Ok((schema, example))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_pointers() {
        assert_eq!(method_name("pets/list pets"), "pets_list_pets");
        assert_eq!(method_name("-x"), "_-x");
        assert_eq!(generated_name(Verb::Get, "/pets/{petId}"), "get_pets_petId");
        assert_eq!(pointer_step("/pets/{id}"), "~1pets~1{id}");
        assert_eq!(pointer_step("a~b"), "a~0b");
    }

    #[test]
    fn recursive_and_exploding_schemas_are_bounded() {
        let recursive = serde_json::json!({"components": {"schemas": {"Node": {
            "type": "object",
            "properties": {"child": {"$ref": "#/components/schemas/Node"}, "name": {"type": "string"}}
        }}}});
        let schema = serde_json::json!({"$ref": "#/components/schemas/Node"});
        let mut inliner = Inliner::new(&recursive);
        let inlined = inliner.inline(&schema, "/x", 6).unwrap_or_default();
        assert_eq!(inlined["properties"]["name"]["type"], "string");
        assert_eq!(
            inlined["properties"]["child"]["$ref"],
            "#/components/schemas/Node"
        );

        // fifty properties, each a schema of fifty properties, five deep
        let mut schemas = serde_json::Map::new();
        for level in 0..5 {
            let properties: serde_json::Map<String, Value> = (0..50)
                .map(|i| {
                    (
                        format!("p{i}"),
                        serde_json::json!({"$ref": format!("#/components/schemas/L{}", level + 1)}),
                    )
                })
                .collect();
            schemas.insert(
                format!("L{level}"),
                serde_json::json!({"type": "object", "properties": properties}),
            );
        }
        schemas.insert("L5".into(), serde_json::json!({"type": "string"}));
        let wide = serde_json::json!({"components": {"schemas": schemas}});
        let mut inliner = Inliner::new(&wide);
        let exploded = inliner.inline(
            &serde_json::json!({"$ref": "#/components/schemas/L0"}),
            "/x",
            6,
        );
        assert!(exploded.is_err_and(|problem| problem.message.contains("more than")));

        // a long chain of $refs, each to the next: followed in a loop to a
        // bound, never a call per link (5,000 overflowed the stack)
        let chain = |links: usize| {
            let schemas: serde_json::Map<String, Value> = (0..links)
                .map(|i| {
                    (
                        format!("s{i}"),
                        serde_json::json!({"$ref": format!("#/components/schemas/s{}", i + 1)}),
                    )
                })
                .chain([(
                    "s".to_string() + &links.to_string(),
                    serde_json::json!({"type": "integer"}),
                )])
                .collect();
            serde_json::json!({"components": {"schemas": schemas}})
        };
        let start = serde_json::json!({"$ref": "#/components/schemas/s0"});
        // the first `$ref` and the chain's: MAX_REF_CHAIN in all
        let short = chain(MAX_REF_CHAIN - 1);
        let followed = Inliner::new(&short).inline(&start, "/x", 6);
        assert_eq!(followed.unwrap_or_default()["type"], "integer");
        let long = chain(5_000);
        let refused = Inliner::new(&long).inline(&start, "/x", 6);
        assert!(refused.is_err_and(|problem| problem.message.contains("in a row")));
        assert!(resolve(&long, &start, "/x").is_err());
        assert_eq!(
            resolve(&short, &start, "/x")
                .ok()
                .map(|found| found["type"].clone()),
            Some(serde_json::json!("integer"))
        );
        let over = chain(MAX_REF_CHAIN);
        assert!(Inliner::new(&over).inline(&start, "/x", 6).is_err());
        assert!(resolve(&over, &start, "/x").is_err());

        // an escaped name in a $ref
        let escaped = serde_json::json!({"components": {"schemas": {"a b": {"type": "integer"}}}});
        let mut inliner = Inliner::new(&escaped);
        let found = inliner.inline(
            &serde_json::json!({"$ref": "#/components/schemas/a%20b"}),
            "/x",
            6,
        );
        assert_eq!(found.unwrap_or_default()["type"], "integer");
    }

    #[test]
    fn examples_follow_the_schema() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "example": "Rex"},
                "age": {"type": ["integer", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            }
        });
        assert_eq!(
            example_of(&schema, 4),
            serde_json::json!({"name": "Rex", "age": 0, "tags": [""]})
        );
    }
}
