//! The few lines written for the operator on stdout (`listening on …`,
//! the first admin's password), in the log format chosen with
//! `--log-format`: plain text, or (json) one JSON object per line shaped
//! like the log lines on stderr, so a collector that reads both streams
//! (systemd's journal, `docker logs`) never meets a line it cannot parse.
//!
//! They are not log events on purpose: a generated password is shown once
//! on stdout and must not end up in a log file or a log shipper's index.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::LogFormat;

/// Set once at start by `main` (before the server runs); relaxed: nothing
/// else is ordered by it.
static JSON: AtomicBool = AtomicBool::new(false);

/// Choose the format of [`say`]'s lines.
pub fn set_format(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// Write one line to stdout, in the chosen format.
pub fn say(line: &str) {
    println!("{}", render(line, JSON.load(Ordering::Relaxed)));
}

fn render(line: &str, json: bool) -> String {
    if !json {
        return line.to_owned();
    }
    use tracing_subscriber::fmt::format::Writer;
    use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
    let mut timestamp = String::new();
    // Writing into a String cannot fail.
    let _ = SystemTime.format_time(&mut Writer::new(&mut timestamp));
    // Written out rather than through a `json!` map (which sorts its
    // keys): the same field order as the log lines.
    let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        "{{\"timestamp\":{},\"level\":\"INFO\",\"message\":{},\"target\":\"townhall::console\"}}",
        quote(&timestamp),
        quote(line)
    )
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn a_json_line_has_the_log_lines_fields() {
        assert_eq!(
            render("listening on http://x", false),
            "listening on http://x"
        );
        let v: serde_json::Value =
            serde_json::from_str(&render("listening on \"x\"", true)).expect("test");
        assert_eq!(v["message"], "listening on \"x\"");
        assert_eq!(v["level"], "INFO");
        assert!(
            v["timestamp"].as_str().expect("test").starts_with("20"),
            "{v}"
        );
    }
}
