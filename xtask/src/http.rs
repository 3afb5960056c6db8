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
///
/// The request says HTTP/1.0, so the answer cannot come in chunks: its body is everything up
/// to the end of the connection.
pub(crate) fn get(port: u16, path: &str) -> io::Result<(u16, String)> {
    let mut stream = connect(port)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status_line = head.lines().next().unwrap_or_default();
    let status = parse_status_line(status_line).ok_or_else(|| not_http(status_line))?;
    Ok((status, body.to_owned()))
}

/// Sends `POST path` with the JSON `body` to `127.0.0.1:port`; the response's status code and
/// the values of its `Set-Cookie` headers.
pub(crate) fn post_json(port: u16, path: &str, body: &str) -> io::Result<(u16, Vec<String>)> {
    let mut stream = connect(port)?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut head = BufReader::new(stream).lines();
    let status_line = head.next().transpose()?.unwrap_or_default();
    let status = parse_status_line(&status_line).ok_or_else(|| not_http(&status_line))?;
    let mut cookies = Vec::new();
    for line in head {
        let line = line?;
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("set-cookie")
        {
            cookies.push(value.trim().to_owned());
        }
    }
    Ok((status, cookies))
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

    #[test]
    fn gets_the_status_from_a_server() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // A request may arrive in several segments: read up to the end of its head.
            let mut request = Vec::new();
            let mut chunk = [0; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let read = stream.read(&mut chunk).unwrap();
                assert_ne!(read, 0, "the client hung up before the end of its request");
                request.extend_from_slice(&chunk[..read]);
            }
            stream
                .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
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
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut chunk = [0; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let read = stream.read(&mut chunk).unwrap();
                assert_ne!(read, 0, "the client hung up before the end of its request");
                request.extend_from_slice(&chunk[..read]);
            }
            stream
                .write_all(
                    b"HTTP/1.0 404 Not Found\r\ncontent-type: text/html\r\n\r\n<p>\r\n\r\nnone</p>",
                )
                .unwrap();
            String::from_utf8_lossy(&request).into_owned()
        });
        let (status, body) = get(port, "/metrics").unwrap();
        assert_eq!((status, body.as_str()), (404, "<p>\r\n\r\nnone</p>"));
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /metrics HTTP/1.0\r\n")
        );
    }
}
