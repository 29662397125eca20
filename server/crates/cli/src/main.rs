//! `console-cli`: the admin API from scripts and CI. `export` the
//! permission document, `diff` a document against the live set, `apply` it
//! (`--dry-run` first), and `test` permission expectations, with exit status
//! 1 when any fails. `CONSOLE_URL` and `CONSOLE_KEY` (an admin API key) say
//! where and as whom; `--app` picks an application (default: the default
//! application).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use policy::cells::{CellChange, PermissionDiff, SubjectKind};
use policy::impact::{Access, MethodImpact};
use policy::suites::{Failure, TestReport};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "console-cli",
    version,
    about = "Permissions as code against a running console's admin API"
)]
struct Cli {
    /// The console's address, e.g. https://console.example.com
    #[arg(long, env = "CONSOLE_URL")]
    url: String,
    /// An admin API key (`POST /console/api/keys`, or the console's Admin keys page)
    #[arg(long, env = "CONSOLE_KEY", hide_env_values = true)]
    key: String,
    /// The application's id; the default application if left out
    #[arg(long, env = "CONSOLE_APP")]
    app: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the whole permission set as JSON (or writes it to a file)
    Export {
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// What applying a document would change: cells, and whose access
    Diff {
        /// The document (JSON or YAML)
        file: PathBuf,
        /// The admin API's JSON answer instead of text
        #[arg(long)]
        json: bool,
    },
    /// Replaces the whole permission set with a document, in one transaction
    Apply {
        file: PathBuf,
        /// Only say what would change
        #[arg(long)]
        dry_run: bool,
        /// Apply even if saved permission tests would break
        #[arg(long)]
        force: bool,
    },
    /// Runs permission tests (a YAML or JSON file; without one, every saved suite)
    Test {
        file: Option<PathBuf>,
        /// Judge against this document instead of the live permissions
        #[arg(long)]
        document: Option<PathBuf>,
    },
}

/// What stops a command: its message and exit status (2: it could not run).
struct Stop(String);

type Outcome = Result<ExitCode, Stop>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(Stop(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

struct Api {
    client: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    fn new(cli: &Cli) -> Result<Api, Stop> {
        let root = cli.url.trim_end_matches('/');
        if !(root.starts_with("http://") || root.starts_with("https://")) {
            return Err(Stop(format!(
                "CONSOLE_URL `{root}` is not an http:// or https:// address"
            )));
        }
        let base = match &cli.app {
            Some(app) => format!(
                "{root}/console/api/apps/{}",
                policy::routes::encode_segment(app)
            ),
            None => format!("{root}/console/api"),
        };
        // a console that accepts and never answers stops the run, never
        // hangs a pipeline
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|error| Stop(format!("cannot make an HTTP client: {error}")))?;
        Ok(Api {
            client,
            base,
            key: cli.key.clone(),
        })
    }

    /// Sends a request; the JSON answer, or the admin API's error.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Stop> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body).unwrap_or_default());
        }
        let reply = request.send().await.map_err(|error| {
            Stop(format!(
                "cannot reach the console at {}: {error}",
                self.base
            ))
        })?;
        let status = reply.status().as_u16();
        let text = reply
            .text()
            .await
            .map_err(|error| Stop(format!("the console's answer was cut off: {error}")))?;
        let json: Value = match serde_json::from_str(&text) {
            Ok(json) => json,
            // a proxy's or a sign-in page: not the console's answer
            Err(_) if (200..300).contains(&status) => {
                return Err(Stop(format!(
                "{} answered {status} with something that is not JSON: is CONSOLE_URL the console?",
                self.base
            )))
            }
            Err(_) => Value::String(text),
        };
        Ok((status, json))
    }

    /// A request that must succeed.
    async fn ok(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, Stop> {
        let (status, json) = self.send(method, path, body).await?;
        if (200..300).contains(&status) {
            Ok(json)
        } else {
            Err(Stop(refusal(status, &json)))
        }
    }
}

/// The admin API's error in words: `409 (8103): the document breaks ...`.
fn refusal(status: u16, json: &Value) -> String {
    match (json["code"].as_u64(), json["message"].as_str()) {
        (Some(code), Some(message)) => {
            format!("the console refused it: {status} ({code}): {message}")
        }
        _ => format!("the console answered {status}: {json}"),
    }
}

/// A file of JSON or YAML, as JSON (JSON first: YAML reads most of it too,
/// with other answers for some).
fn read(path: &Path) -> Result<Value, Stop> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Stop(format!("cannot read `{}`: {error}", path.display())))?;
    match serde_json::from_str(&text) {
        Ok(json) => Ok(json),
        Err(json_error) => serde_norway::from_str(&text).map_err(|yaml_error| {
            Stop(format!(
                "`{}` is neither JSON ({json_error}) nor YAML ({yaml_error})",
                path.display()
            ))
        }),
    }
}

/// A permissions document of JSON or YAML, read as the admin API reads
/// it: a service, subject or method named twice in one object (which a
/// plain reading would settle by keeping the last) or a field it does not
/// take is refused here, before anything is sent.
fn read_document(path: &Path) -> Result<Value, Stop> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Stop(format!("cannot read `{}`: {error}", path.display())))?;
    let refused = |error: String| Stop(format!("`{}` is refused: {error}", path.display()));
    let document: policy::cells::PermissionDocument =
        if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok() {
            serde_json::from_str(&text).map_err(|error| refused(error.to_string()))?
        } else {
            yaml_document(&text).map_err(refused)?
        };
    serde_json::to_value(&document).map_err(|error| refused(error.to_string()))
}

/// YAML into a document; the parser's message on failure.
fn yaml_document(text: &str) -> Result<policy::cells::PermissionDocument, String> {
    serde_norway::from_str(text)
        .map_err(|error| format!("not valid YAML or not a permissions document: {error}"))
}

async fn run(cli: Cli) -> Outcome {
    let api = Api::new(&cli)?;
    match &cli.command {
        Command::Export { output } => {
            let document = api.ok(reqwest::Method::GET, "/permissions", None).await?;
            let text = serde_json::to_string_pretty(&document).unwrap_or_default() + "\n";
            match output {
                Some(path) => std::fs::write(path, text)
                    .map_err(|error| Stop(format!("cannot write `{}`: {error}", path.display())))?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Diff { file, json } => {
            let document = read_document(file)?;
            let answer = api
                .ok(
                    reqwest::Method::PUT,
                    "/permissions?dry_run=true",
                    Some(&document),
                )
                .await?;
            let diff = parse_diff(&answer)?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&answer).unwrap_or_default()
                );
            } else {
                print_diff(&diff);
            }
            Ok(breaks_tests(&diff))
        }
        Command::Apply {
            file,
            dry_run,
            force,
        } => {
            let document = read_document(file)?;
            let path = format!("/permissions?dry_run={dry_run}&force={force}");
            let (status, answer) = api
                .send(reqwest::Method::PUT, &path, Some(&document))
                .await?;
            if status == 409 {
                // refused on purpose: the document breaks saved permission tests
                eprintln!("{}", refusal(status, &answer));
                return Ok(ExitCode::from(1));
            }
            if !(200..300).contains(&status) {
                return Err(Stop(refusal(status, &answer)));
            }
            let diff = parse_diff(&answer)?;
            print_diff(&diff);
            if diff.applied {
                println!("applied");
                Ok(ExitCode::SUCCESS)
            } else {
                println!("dry run: nothing was changed");
                Ok(breaks_tests(&diff))
            }
        }
        Command::Test { file, document } => {
            let mut body = serde_json::Map::new();
            if let Some(file) = file {
                let tests = read(file)?;
                // a list of tests, or a suite `{"name"?, "tests": [...]}`
                let tests = match tests {
                    Value::Array(_) => tests,
                    Value::Object(mut suite) => suite.remove("tests").unwrap_or(Value::Null),
                    _ => Value::Null,
                };
                if tests.as_array().is_none_or(|tests| tests.is_empty()) {
                    return Err(Stop(format!(
                        "`{}` holds no tests: a list of them, or `tests:` with a list",
                        file.display()
                    )));
                }
                body.insert("tests".into(), tests);
            }
            if let Some(document) = document {
                body.insert("document".into(), read_document(document)?);
            }
            let answer = api
                .ok(
                    reqwest::Method::POST,
                    "/permissions/test",
                    Some(&Value::Object(body)),
                )
                .await?;
            let report: TestReport = serde_json::from_value(answer).map_err(|error| {
                Stop(format!(
                    "the console's answer is not a test report: {error}"
                ))
            })?;
            print_report(&report);
            if report.passed + report.failed.len() == 0 {
                // no saved suite here (or another application than meant)
                println!("no test ran: nothing was checked");
                return Ok(ExitCode::from(1));
            }
            Ok(if report.failed.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// 1 when saved permission tests would break: a CI gate on a dry run fails.
fn breaks_tests(diff: &PermissionDiff) -> ExitCode {
    if diff
        .tests
        .as_ref()
        .is_some_and(|report| !report.failed.is_empty())
    {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn parse_diff(answer: &Value) -> Result<PermissionDiff, Stop> {
    serde_json::from_value(answer.clone())
        .map_err(|error| Stop(format!("the console's answer is not a diff: {error}")))
}

fn cell(change: &CellChange) -> String {
    let kind = match change.kind {
        SubjectKind::Users => "user",
        SubjectKind::Roles => "role",
    };
    let scope = if change.method == "*" {
        "All Methods"
    } else {
        &change.method
    };
    let until = |end: Option<policy::time::Until>| {
        end.map(|end| format!(" until {end}")).unwrap_or_default()
    };
    format!(
        "{} {kind} {} {scope}: {}{} -> {}{}",
        change.service,
        change.subject,
        word(change.before),
        until(change.before_until),
        word(change.after),
        until(change.until)
    )
}

fn word(effect: policy::decision::Effect) -> &'static str {
    match effect {
        policy::decision::Effect::Grant => "grant",
        policy::decision::Effect::Deny => "deny",
        policy::decision::Effect::Inherit => "inherit",
    }
}

fn impact_line(service: &str, method: &MethodImpact) -> String {
    let mut parts = Vec::new();
    let users = |count: usize, verb: &str| {
        if count == 1 {
            format!("1 user {verb}s access")
        } else {
            format!("{count} users {verb} access")
        }
    };
    if method.lost > 0 {
        parts.push(users(method.lost, "lose"));
    }
    if method.gained > 0 {
        parts.push(users(method.gained, "gain"));
    }
    match method.anonymous {
        Some(Access::Lost) => parts.push("anonymous callers lose access".into()),
        Some(Access::Gained) => parts.push("anonymous callers gain access".into()),
        None => {}
    }
    format!("  {service}/{}: {}", method.method, parts.join(", "))
}

fn print_diff(diff: &PermissionDiff) {
    let total = diff.added.len() + diff.changed.len() + diff.removed.len();
    println!(
        "{total} cell{} change: {} added, {} changed, {} removed",
        if total == 1 { "" } else { "s" },
        diff.added.len(),
        diff.changed.len(),
        diff.removed.len()
    );
    for (mark, cells) in [
        ("+", &diff.added),
        ("~", &diff.changed),
        ("-", &diff.removed),
    ] {
        for change in cells.iter() {
            println!("{mark} {}", cell(change));
        }
    }
    if !diff.impact.is_empty() {
        println!("whose access changes:");
        for service in &diff.impact {
            for method in &service.methods {
                println!("{}", impact_line(&service.service, method));
            }
        }
    }
    if let Some(report) = &diff.tests {
        println!(
            "saved permission tests: {} pass, {} would break",
            report.passed,
            report.failed.len()
        );
        for failure in &report.failed {
            println!("{}", failure_line(failure));
        }
    }
}

/// One failure, one line a CI log shows as it is.
fn failure_line(failure: &Failure) -> String {
    let suite = failure
        .suite
        .as_ref()
        .map(|suite| format!("[{suite}] "))
        .unwrap_or_default();
    let cell = failure
        .denied_by
        .as_ref()
        .map(|by| {
            let scope = if by.scope == "*" {
                "All Methods"
            } else {
                &by.scope
            };
            format!(" (cell: {} {} on {scope})", by.kind, by.name)
        })
        .unwrap_or_default();
    format!(
        "FAIL {suite}{}: got {}: {}{cell}",
        failure.test.describe(),
        failure.got,
        failure.reason
    )
}

fn print_report(report: &TestReport) {
    for failure in &report.failed {
        println!("{}", failure_line(failure));
    }
    println!("{} passed, {} failed", report.passed, report.failed.len());
}
