//! Headless Chromium driven over the DevTools protocol, for tests of the HTML report.
//!
//! `chromium --headless --screenshot` hangs on these machines (tests/emulators/README.md and
//! ../shared/emulators/README.md): Debian's `chromium-headless-shell` is started with a
//! debugging port, and the test talks to its page over a WebSocket. The browser runs in its own
//! process group, killed whole on drop (killing its PID alone leaves its zygote and renderers).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const BINARIES: [&str; 3] =
    ["chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell", "chromium"];

pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    socket: tungstenite::WebSocket<TcpStream>,
    next_id: u64,
    /// Protocol events received so far (method and params), in order.
    pub events: Vec<Value>,
}

fn binary() -> PathBuf {
    for b in BINARIES {
        let found = if b.starts_with('/') {
            Path::new(b).exists().then(|| PathBuf::from(b))
        } else {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths).map(|p| p.join(b)).find(|p| p.exists())
            })
        };
        if let Some(path) = found {
            return path;
        }
    }
    panic!(
        "no headless Chromium found ({BINARIES:?}): install Debian's chromium-headless-shell \
         (.ci/run does)"
    );
}

/// A GET on loopback, answered with its body (read to its Content-Length: the DevTools server
/// keeps the connection open).
fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head.lines().find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            if length.is_some_and(|n| body.len() >= n) {
                return body.to_string();
            }
        }
    }
    let text = String::from_utf8_lossy(&data);
    text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

impl Browser {
    pub fn start() -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(binary())
            .args([
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        // With port 0 the browser picks one and writes it to DevToolsActivePort.
        let port_file = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let port: u16 = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file)
                && let Some(Ok(port)) = text.lines().next().map(str::parse)
            {
                break port;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "Chromium did not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        let page_url = loop {
            let list: Value =
                serde_json::from_str(&http_get(port, "/json/list")).unwrap_or(json!([]));
            let page = list.as_array().and_then(|pages| {
                pages
                    .iter()
                    .find(|p| p["type"] == "page")
                    .and_then(|p| p["webSocketDebuggerUrl"].as_str())
            });
            if let Some(url) = page {
                break url.to_string();
            }
            assert!(start.elapsed() < Duration::from_secs(60), "Chromium opened no page");
            std::thread::sleep(Duration::from_millis(50));
        };
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let (socket, _) = tungstenite::client(page_url.as_str(), stream).unwrap();
        let mut browser =
            Browser { child, _profile: profile, socket, next_id: 0, events: Vec::new() };
        browser.call("Runtime.enable", json!({}));
        browser.call("Log.enable", json!({}));
        browser.call("Page.enable", json!({}));
        browser
    }

    /// Sends one command and waits for its answer; events that arrive meanwhile are kept.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket.send(tungstenite::Message::text(message)).unwrap();
        loop {
            let message = self.socket.read().unwrap();
            let tungstenite::Message::Text(text) = message else { continue };
            let value: Value = serde_json::from_str(text.as_str()).unwrap();
            if value["id"] == id {
                assert!(value.get("error").is_none(), "{method}: {}", value["error"]);
                return value["result"].clone();
            }
            if value.get("method").is_some() {
                self.events.push(value);
            }
        }
    }

    /// Opens a local file and waits until it has loaded.
    pub fn open(&mut self, file: &Path) {
        let url = format!("file://{}", file.canonicalize().unwrap().display());
        self.call("Page.navigate", json!({ "url": url }));
        let start = Instant::now();
        while self.eval("document.readyState") != "complete" {
            assert!(start.elapsed() < Duration::from_secs(60), "{url} did not load");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Evaluates JavaScript in the page; returns its value (by value, so objects come whole).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Errors the page reported: uncaught exceptions, console errors, and log entries at error
    /// level (a load that the Content-Security-Policy refused lands there).
    pub fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.exceptionThrown" => Some(e["params"]["exceptionDetails"].to_string()),
                "Runtime.consoleAPICalled" if e["params"]["type"] == "error" => {
                    Some(e["params"]["args"].to_string())
                }
                "Log.entryAdded" if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"]["text"].to_string())
                }
                _ => None,
            })
            .collect()
    }

    /// A PNG of the whole page at 1280 CSS pixels wide.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let height = self.eval("document.documentElement.scrollHeight").as_f64().unwrap_or(900.0);
        let result = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": 1280, "height": height, "scale": 1 }
            }),
        );
        base64_decode(result["data"].as_str().unwrap())
    }

    /// The page printed to PDF, as a browser's "Save as PDF" would.
    pub fn pdf(&mut self) -> Vec<u8> {
        let result = self.call("Page.printToPDF", json!({ "printBackground": true }));
        base64_decode(result["data"].as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    fn value(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    }
    let bytes: Vec<u8> = text.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c) << (18 - 6 * i);
        }
        let take = chunk.len() - 1;
        out.extend_from_slice(&n.to_be_bytes()[1..=take]);
    }
    out
}
