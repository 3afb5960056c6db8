//! Minimal HTTP/1.1 over `std::net`: enough to probe `/readyz` and the ingress, to sign a
//! user up for the fuzzer and to ask the local Prometheus, without pulling an async runtime
//! into xtask.

use std::io::{self, BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// Sends `GET path` to `127.0.0.1:port` and returns the response's status code.
pub(crate) fn get_status(port: u16, path: &str) -> io::Result<u16> {
    let mut stream = connect(port)?;
    // One write: `write!` would hand the server the request in pieces, one per argument.
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut status_line = String::new();
    BufReader::new(stream).read_line(&mut status_line)?;
    parse_status_line(&status_line).ok_or_else(|| not_http(&status_line))
}

/// Sends `GET path` to `127.0.0.1:port`; the response's status code and body.
pub(crate) fn get(port: u16, path: &str) -> io::Result<(u16, String)> {
    let answer = send(port, "GET", path, &[], None)?;
    Ok((answer.status, answer.body))
}

/// Sends `POST path` with the JSON `body` to `127.0.0.1:port`; the response's status code and
/// the values of its `Set-Cookie` headers.
pub(crate) fn post_json(port: u16, path: &str, body: &str) -> io::Result<(u16, Vec<String>)> {
    let answer = send(port, "POST", path, &[], Some(body))?;
    Ok((answer.status, answer.cookies))
}

/// An answer: its status code, its `Set-Cookie` values and its body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) cookies: Vec<String>,
    pub(crate) body: String,
}

/// Sends `method path` with `headers` and, if given, the JSON `body` to `127.0.0.1:port`.
///
/// The request says HTTP/1.0, so the answer cannot come in chunks: its body is everything up
/// to the end of the connection.
pub(crate) fn send(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> io::Result<Answer> {
    let mut stream = connect(port)?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or_default());
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.lines();
    let status_line = lines.next().unwrap_or_default();
    let status = parse_status_line(status_line).ok_or_else(|| not_http(status_line))?;
    let cookies = lines
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, value)| value.trim().to_owned())
        .collect();
    Ok(Answer {
        status,
        cookies,
        body: body.to_owned(),
    })
}

/// A connection to `127.0.0.1:port`, with a second to connect and five for each read or write.
fn connect(port: u16) -> io::Result<TcpStream> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(stream)
}

/// The error of an answer that is not HTTP.
fn not_http(status_line: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("not an HTTP response: {status_line:?}"),
    )
}

/// `HTTP/1.1 200 OK` → 200.
fn parse_status_line(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    parts
        .next()
        .filter(|version| version.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn parses_status_lines() {
        assert_eq!(parse_status_line("HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(
            parse_status_line("HTTP/1.0 503 Service Unavailable"),
            Some(503)
        );
        assert_eq!(parse_status_line("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line(""), None);
    }

    /// A server on a free port that answers one request with `response`; the port, and what it
    /// was sent up to the end of the request's head (and the body, when `body` bytes follow).
    fn serve_once(response: &'static [u8], body: usize) -> (u16, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // A request may arrive in several segments: read up to the end of its head.
            let mut request = Vec::new();
            let mut chunk = [0; 1024];
            let complete = |request: &[u8]| {
                let text = String::from_utf8_lossy(request);
                text.split_once("\r\n\r\n")
                    .is_some_and(|(_, rest)| rest.len() >= body)
            };
            while !complete(&request) {
                let read = stream.read(&mut chunk).unwrap();
                assert_ne!(read, 0, "the client hung up before the end of its request");
                request.extend_from_slice(&chunk[..read]);
            }
            stream.write_all(response).unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        (port, server)
    }

    #[test]
    fn gets_the_status_from_a_server() {
        let (port, server) = serve_once(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n",
            0,
        );
        assert_eq!(get_status(port, "/readyz").unwrap(), 503);
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /readyz HTTP/1.1\r\n")
        );
    }

    #[test]
    fn gets_the_status_and_the_body_up_to_the_end_of_the_connection() {
        let (port, server) = serve_once(
            b"HTTP/1.0 404 Not Found\r\ncontent-type: text/html\r\n\r\n<p>\r\n\r\nnone</p>",
            0,
        );
        let (status, body) = get(port, "/metrics").unwrap();
        assert_eq!((status, body.as_str()), (404, "<p>\r\n\r\nnone</p>"));
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /metrics HTTP/1.0\r\n")
        );
    }

    #[test]
    fn sends_headers_and_a_json_body_and_reads_the_cookies_and_the_body() {
        let (port, server) = serve_once(
            b"HTTP/1.0 201 Created\r\nSet-Cookie: session=abc; path=/\r\n\r\n{\"id\":\"1\"}",
            9,
        );
        let answer = send(
            port,
            "POST",
            "/api/tickets",
            &[("traceparent", "00-aa-bb-01")],
            Some(r#"{"a":"b"}"#),
        )
        .unwrap();
        assert_eq!(answer.status, 201);
        assert_eq!(answer.cookies, ["session=abc; path=/"]);
        assert_eq!(answer.body, r#"{"id":"1"}"#);
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /api/tickets HTTP/1.0\r\n"),
            "{request}"
        );
        assert!(
            request.contains("\r\ntraceparent: 00-aa-bb-01\r\n"),
            "{request}"
        );
        assert!(request.contains("\r\nContent-Length: 9\r\n"), "{request}");
        assert!(request.ends_with("\r\n\r\n{\"a\":\"b\"}"), "{request}");
    }
}
