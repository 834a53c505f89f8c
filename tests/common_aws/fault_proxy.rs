//! A loopback HTTP proxy in front of the emulators that injects faults into chosen AWS calls.
//!
//! Requests are told apart the way AWS tells them apart: region and service from the SigV4
//! credential scope of the Authorization header (`Credential=KEY/DATE/REGION/SERVICE/aws4_request`;
//! EC2 is `ec2`, CloudWatch `monitoring`, Cost Explorer `ce`, STS `sts`), the operation from
//! `X-Amz-Target` (awsJson), the `/operation/NAME` path (Smithy RPC v2 CBOR), `Action=` of
//! a form body (EC2 and awsQuery) or the method and path (OpenSearch's restJson). Cost Explorer and the databases (RDS, ElastiCache, OpenSearch,
//! Redshift, DynamoDB), ELBv2 and CloudWatch Logs go to moto, everything else to LocalStack.
//!
//! Each rule matches a service (and a region, when given) and injects its fault `times` times
//! (or always), then lets requests through; every request is logged with what happened to it,
//! so tests can count attempts.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Credential scopes of the services moto answers (Cost Explorer, the databases, load balancers,
/// CloudWatch Logs, Lambda), the rest going to LocalStack (S3 among them: moto cannot list
/// Intelligent-Tiering configurations).
pub const MOTO_SCOPES: [&str; 9] = [
    "ce",
    "rds",
    "elasticache",
    "es",
    "redshift",
    "dynamodb",
    "elasticloadbalancing",
    "logs",
    "lambda",
];

/// The SDK's endpoint variables of those services (classic and v2 load balancers share the
/// credential scope `elasticloadbalancing`, each crate its own variable).
pub const MOTO_ENDPOINT_VARIABLES: [&str; 10] = [
    "AWS_ENDPOINT_URL_COST_EXPLORER",
    "AWS_ENDPOINT_URL_RDS",
    "AWS_ENDPOINT_URL_ELASTICACHE",
    "AWS_ENDPOINT_URL_OPENSEARCH",
    "AWS_ENDPOINT_URL_REDSHIFT",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING",
    "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
    "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
    "AWS_ENDPOINT_URL_LAMBDA",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The service's own throttling error, in its protocol's shape.
    Throttle,
    /// HTTP 500 with the service's internal-error body.
    Http500,
    /// Reads the request and never answers; the connection is held until the client gives up.
    Slow,
    /// Forwards the request, sends the answer's head and the first bytes of its body, then
    /// holds the rest like `Slow`.
    SlowBody,
    /// Reads the request, then closes the connection with a TCP RST (SO_LINGER 0).
    Reset,
    /// Forwards the request, then sends the answer's head (its Content-Length intact) and half
    /// its body, and closes.
    Truncated,
}

#[derive(Clone, Debug)]
pub struct Rule {
    /// Credential-scope service: `ec2`, `monitoring`, `ce`, `sts`.
    pub service: &'static str,
    /// Any region when `None`.
    pub region: Option<&'static str>,
    pub fault: Fault,
    /// Faults injected before requests pass again; `None`: always.
    pub times: Option<usize>,
}

impl Rule {
    pub fn always(service: &'static str, region: Option<&'static str>, fault: Fault) -> Rule {
        Rule { service, region, fault, times: None }
    }

    pub fn times(
        n: usize,
        service: &'static str,
        region: Option<&'static str>,
        fault: Fault,
    ) -> Rule {
        Rule { service, region, fault, times: Some(n) }
    }
}

/// One request the proxy saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub service: String,
    pub region: String,
    pub operation: String,
    /// The fault injected, `None` when forwarded untouched.
    pub fault: Option<Fault>,
}

struct State {
    rules: Vec<(Rule, usize)>,
    seen: Vec<Seen>,
}

pub struct FaultProxy {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Forwards [`MOTO_SCOPES`] to `moto`, everything else to `localstack`, faulting what `rules` match
    /// (the first matching rule with faults left wins).
    pub fn start(localstack: u16, moto: u16, rules: Vec<Rule>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            rules: rules.into_iter().map(|r| (r, 0)).collect(),
            seen: Vec::new(),
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, localstack, moto, &state);
                });
            }
        });
        FaultProxy { port, state }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The endpoint variables that send costscope's calls through the proxy.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut vars = vec![("AWS_ENDPOINT_URL", self.url())];
        vars.extend(MOTO_ENDPOINT_VARIABLES.iter().map(|v| (*v, self.url())));
        vars
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// Faults injected by rule `index` (in the order given to `start`).
    pub fn hits(&self, index: usize) -> usize {
        self.state.lock().unwrap().rules[index].1
    }

    /// Requests for `operation` of `service` in `region`: (faulted, forwarded).
    pub fn attempts(&self, service: &str, region: &str, operation: &str) -> (usize, usize) {
        let seen = self.seen();
        let matching = seen
            .iter()
            .filter(|s| s.service == service && s.region == region && s.operation == operation);
        let (faulted, passed): (Vec<&Seen>, Vec<&Seen>) = matching.partition(|s| s.fault.is_some());
        (faulted.len(), passed.len())
    }
}

/// What the head of a request says about it.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
    service: String,
    region: String,
    operation: String,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    let mut length = 0usize;
    let (mut service, mut region, mut operation) = (String::new(), String::new(), String::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:")
            && let Some(scope) = line.split("Credential=").nth(1)
        {
            let parts: Vec<&str> = scope.split('/').collect();
            if parts.len() >= 4 {
                region = parts[2].to_string();
                service = parts[3].to_string();
            }
        }
        if lower.starts_with("x-amz-target:") {
            let target = line["x-amz-target:".len()..].trim();
            operation = target.rsplit('.').next().unwrap_or(target).to_string();
        }
        if head.is_empty()
            && let Some(path) = line.split_whitespace().nth(1)
            && let Some(op) = path.split("/operation/").nth(1)
        {
            operation = op.to_string();
        }
        if lower.starts_with("connection:") {
            continue;
        }
        head.push(line);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if operation.is_empty()
        && let Some(action) = String::from_utf8_lossy(&body)
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action=").map(str::to_string))
    {
        operation = action;
    }
    if operation.is_empty()
        && let Some(first) = head.first()
    {
        operation = rest_operation(first).unwrap_or_default().to_string();
    }
    Ok(Some(Request { head, body, service, region, operation }))
}

/// Operations of the REST APIs costscope calls (OpenSearch, Lambda, S3), from the request line.
/// S3's are named by the IAM action that allows them (ListBuckets needs
/// `s3:ListAllMyBuckets`, …), since S3's actions are not its operations' names.
fn rest_operation(request_line: &str) -> Option<&'static str> {
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next()?, words.next()?);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = path.trim_end_matches('/');
    let has = |key: &str| query.split('&').any(|kv| kv.split('=').next() == Some(key));
    match (method, path) {
        ("GET", "/2021-01-01/domain") => Some("ListDomainNames"),
        ("POST", "/2021-01-01/opensearch/domain-info") => Some("DescribeDomains"),
        ("GET", "/2021-01-01/tags") => Some("ListTags"),
        ("GET", "/2015-03-31/functions") => Some("ListFunctions"),
        ("GET", p) if p.starts_with("/2017-03-31/tags/") => Some("ListTags"),
        ("GET", _) if has("location") => Some("GetBucketLocation"),
        ("GET", _) if has("lifecycle") => Some("GetLifecycleConfiguration"),
        ("GET", _) if has("intelligent-tiering") => Some("GetIntelligentTieringConfiguration"),
        ("GET", _) if has("tagging") => Some("GetBucketTagging"),
        ("GET", "") => Some("ListAllMyBuckets"),
        _ => None,
    }
}

/// One request per connection: read it, fault or forward it, close.
fn serve(
    stream: TcpStream,
    localstack: u16,
    moto: u16,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let Some(request) = read_request(&mut reader)? else {
        return Ok(());
    };
    let fault = {
        let mut state = state.lock().unwrap();
        let fault = state
            .rules
            .iter_mut()
            .find(|(rule, hits)| {
                rule.service == request.service
                    && rule.region.is_none_or(|r| r == request.region)
                    && rule.times.is_none_or(|n| *hits < n)
            })
            .map(|(rule, hits)| {
                *hits += 1;
                rule.fault
            });
        state.seen.push(Seen {
            service: request.service.clone(),
            region: request.region.clone(),
            operation: request.operation.clone(),
            fault,
        });
        fault
    };
    let upstream = if MOTO_SCOPES.contains(&request.service.as_str()) { moto } else { localstack };
    let mut client = stream;
    match fault {
        None => {
            let response = forward(&request, upstream)?;
            client.write_all(&response)?;
        }
        Some(Fault::Throttle) => write_error(&mut client, &request.service, ErrorKind::Throttle)?,
        Some(Fault::Http500) => write_error(&mut client, &request.service, ErrorKind::Internal)?,
        Some(Fault::Slow) => {
            hold(&mut reader)?;
            return Ok(());
        }
        Some(Fault::SlowBody) => {
            let response = forward(&request, upstream)?;
            let (head, body) = split_response(&response);
            client.write_all(head)?;
            client.write_all(&body[..body.len().min(8)])?;
            client.flush()?;
            hold(&mut reader)?;
            return Ok(());
        }
        Some(Fault::Reset) => {
            socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
            drop(reader);
            drop(client);
            return Ok(());
        }
        Some(Fault::Truncated) => {
            let response = forward(&request, upstream)?;
            let (head, body) = split_response(&response);
            client.write_all(head)?;
            client.write_all(&body[..body.len() / 2])?;
            client.flush()?;
            client.shutdown(Shutdown::Both)?;
            return Ok(());
        }
    }
    client.flush()
}

/// Holds the connection until the client's attempt timeout drops it (a read of 0), or two
/// minutes, whichever comes first.
fn hold(reader: &mut BufReader<TcpStream>) -> std::io::Result<()> {
    reader.get_ref().set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut sink = [0u8; 64];
    while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
    Ok(())
}

/// The upstream's whole answer, de-chunked, with its own Content-Length and `Connection: close`.
fn forward(request: &Request, upstream: u16) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
    for h in &request.head {
        up.write_all(h.as_bytes())?;
    }
    up.write_all(b"Connection: close\r\n\r\n")?;
    up.write_all(&request.body)?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw)?;
    let (head, body) = split_response(&raw);
    let head = String::from_utf8_lossy(head);
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(&body) } else { body };
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("content-length:")
            || lower.starts_with("transfer-encoding:")
            || lower.starts_with("connection:")
        {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut response = out.into_bytes();
    response.extend_from_slice(&body);
    Ok(response)
}

/// Head (with its blank line) and body of a raw HTTP response.
fn split_response(raw: &[u8]) -> (&[u8], Vec<u8>) {
    match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&raw[..i + 4], raw[i + 4..].to_vec()),
        None => (raw, Vec::new()),
    }
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = body.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&body[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&body[start..(start + size).min(body.len())]);
        body = &body[(start + size + 2).min(body.len())..];
    }
    out
}

enum ErrorKind {
    Throttle,
    Internal,
}

/// The error as the service would send it: EC2's query XML, CloudWatch's Smithy RPC v2 CBOR
/// (with the awsQueryCompatible code header), Cost Explorer's awsJson 1.1.
fn write_error(client: &mut TcpStream, service: &str, kind: ErrorKind) -> std::io::Result<()> {
    let (status, code, message) = match (service, &kind) {
        ("ec2", ErrorKind::Throttle) => {
            ("503 Service Unavailable", "RequestLimitExceeded", "Request limit exceeded.")
        }
        ("monitoring", ErrorKind::Throttle) => ("400 Bad Request", "Throttling", "Rate exceeded"),
        (_, ErrorKind::Throttle) => {
            ("400 Bad Request", "LimitExceededException", "You have exceeded the rate limit.")
        }
        ("ec2", ErrorKind::Internal) => {
            ("500 Internal Server Error", "InternalError", "An internal error has occurred.")
        }
        ("monitoring", ErrorKind::Internal) => {
            ("500 Internal Server Error", "InternalServiceError", "Internal service error.")
        }
        (_, ErrorKind::Internal) => {
            ("500 Internal Server Error", "InternalFailure", "An internal error has occurred.")
        }
    };
    let (content_type, extra, body): (&str, String, Vec<u8>) = match service {
        "monitoring" => (
            "application/cbor",
            format!("smithy-protocol: rpc-v2-cbor\r\nx-amzn-query-error: {code};Sender\r\n"),
            cbor_map(&[("__type", code), ("message", message)]),
        ),
        "ec2" | "sts" => (
            "text/xml",
            String::new(),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
                 <Code>{code}</Code><Message>{message}</Message></Error></Errors>\
                 <RequestID>fault-proxy</RequestID></Response>"
            )
            .into_bytes(),
        ),
        _ => (
            "application/x-amz-json-1.1",
            format!("x-amzn-errortype: {code}\r\n"),
            serde_json::json!({"__type": code, "message": message}).to_string().into_bytes(),
        ),
    };
    write!(
        client,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}\
         x-amzn-requestid: fault-proxy\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    client.write_all(&body)
}

/// A CBOR map of short text strings (definite lengths; every string under 256 bytes).
fn cbor_map(entries: &[(&str, &str)]) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        if s.len() < 24 {
            out.push(0x60 | s.len() as u8);
        } else {
            out.push(0x78);
            out.push(s.len() as u8);
        }
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = vec![0xa0 | entries.len() as u8];
    for (k, v) in entries {
        text(&mut out, k);
        text(&mut out, v);
    }
    out
}
