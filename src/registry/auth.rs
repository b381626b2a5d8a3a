//! Registry login: Basic credentials, or Bearer tokens fetched from the realm a 401
//! challenge names (with the Basic pair when there is one, anonymously otherwise).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full};
use secrecy::ExposeSecret;

use super::{Credentials, Registry, enc};

#[derive(Debug, Default)]
enum Scheme {
    /// Nothing learnt yet: requests go without credentials until challenged.
    #[default]
    Unknown,
    Basic,
    Bearer,
}

#[derive(Debug, Default)]
struct State {
    scheme: Scheme,
    /// Bearer tokens by scope.
    tokens: HashMap<String, String>,
}

/// Login state of one registry client.
pub(super) struct Auth {
    creds: Credentials,
    state: Mutex<State>,
}

/// Largest token answer read.
const MAX_TOKEN_ANSWER: usize = 1024 * 1024;

/// Whether a token realm may get credentials: https, or http on a loopback host, with
/// the host parsed from the URL (not matched as a prefix of it).
fn realm_allowed(realm: &str) -> bool {
    let Ok(uri) = realm.parse::<http::Uri>() else {
        return false;
    };
    match uri.scheme_str() {
        Some("https") => uri.host().is_some(),
        Some("http") => uri
            .host()
            .is_some_and(crate::domain::image_ref::is_loopback),
        _ => false,
    }
}

fn sensitive(value: String) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&value).ok()?;
    v.set_sensitive(true);
    Some(v)
}

/// The parameters of a `Bearer realm="...",service="...",scope="..."` challenge.
fn bearer_params(challenge: &str) -> Option<HashMap<String, String>> {
    let rest = challenge.trim().strip_prefix("Bearer ")?;
    let mut params = HashMap::new();
    let mut s = rest;
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, after) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], &q[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        params.insert(key, value.to_string());
        s = after.trim_start_matches(',').trim();
    }
    Some(params)
}

impl Auth {
    pub(super) fn new(creds: Credentials) -> Self {
        Self {
            creds,
            state: Mutex::new(State::default()),
        }
    }

    fn basic(&self) -> Option<HeaderValue> {
        match &self.creds {
            Credentials::Anonymous => None,
            Credentials::Basic { user, password } => {
                let pair = format!("{user}:{}", password.expose_secret());
                sensitive(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ))
            }
        }
    }

    /// The Authorization value for a request needing `scope`, when one is known.
    pub(super) fn header(&self, scope: &str) -> Option<HeaderValue> {
        let state = self.state.lock().ok()?;
        match state.scheme {
            Scheme::Unknown => None,
            Scheme::Basic => self.basic(),
            Scheme::Bearer => state
                .tokens
                .get(scope)
                .and_then(|t| sensitive(format!("Bearer {t}"))),
        }
    }

    /// Learns from a 401 challenge; fetches a token for `scope` when Bearer is asked.
    pub(super) async fn answer(
        &self,
        registry: &Registry,
        challenge: &str,
        scope: &str,
    ) -> Result<(), String> {
        if challenge.trim().to_ascii_lowercase().starts_with("basic") || challenge.is_empty() {
            if matches!(self.creds, Credentials::Anonymous) {
                return Err("the registry asks for credentials and none are known".into());
            }
            if let Ok(mut s) = self.state.lock() {
                s.scheme = Scheme::Basic;
            }
            return Ok(());
        }
        let params = bearer_params(challenge)
            .ok_or_else(|| format!("unsupported authentication challenge '{challenge}'"))?;
        let realm = params
            .get("realm")
            .ok_or("the Bearer challenge names no realm")?;
        if !realm_allowed(realm) {
            return Err(format!(
                "the token realm '{realm}' is neither https nor plain http on a loopback host (127.0.0.0/8, ::1, localhost); credentials are not sent there"
            ));
        }
        let mut url = realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(service) = params.get("service") {
            url.push_str(&format!("{sep}service={}", enc(service)));
            sep = '&';
        }
        for part in scope.split(' ') {
            url.push_str(&format!("{sep}scope={}", enc(part)));
            sep = '&';
        }
        let mut req = Request::builder().method(Method::GET).uri(&url);
        if let Some(basic) = self.basic() {
            req = req.header(http::header::AUTHORIZATION, basic);
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("bad token request: {e}"))?;
        let wait = registry.bounds.attempt_timeout;
        let late = |_| {
            format!(
                "the token service gave no answer within {}s",
                wait.as_secs()
            )
        };
        let resp = tokio::time::timeout(wait, registry.http.request(req))
            .await
            .map_err(late)?
            .map_err(|e| format!("token request failed: {e}"))?;
        let status = resp.status();
        let limited = http_body_util::Limited::new(resp.into_body(), MAX_TOKEN_ANSWER);
        let body = tokio::time::timeout(wait, limited.collect())
            .await
            .map_err(late)?
            .map_err(|e| format!("reading the token failed: {e}"))?
            .to_bytes();
        if !status.is_success() {
            return Err(format!("the token service answered HTTP {status}"));
        }
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("the token is not JSON: {e}"))?;
        let token = json["token"]
            .as_str()
            .or_else(|| json["access_token"].as_str())
            .ok_or("the token service sent no token")?
            .to_string();
        if let Ok(mut s) = self.state.lock() {
            s.scheme = Scheme::Bearer;
            s.tokens.insert(scope.to_string(), token);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenges_parse() {
        let p = bearer_params(
            r#"Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws""#,
        )
        .unwrap();
        assert_eq!(p["realm"], "https://public.ecr.aws/token/");
        assert_eq!(p["service"], "public.ecr.aws");
        assert!(bearer_params("Basic realm=\"x\"").is_none());
    }

    #[test]
    fn token_realms_over_http_must_be_on_loopback() {
        for ok in [
            "https://auth.example.com/token",
            "http://127.0.0.1:5000/token",
            "http://127.9.9.9/token",
            "http://localhost:80/t",
            "http://[::1]:5000/token",
        ] {
            assert!(realm_allowed(ok), "{ok}");
        }
        for bad in [
            "http://127.0.0.1.example.com/token",
            "http://127.0.0.1@evil.example.com/token",
            "http://localhost.example.com/t",
            "ftp://127.0.0.1/t",
            "http://10.0.0.1/token",
            "not a url",
        ] {
            assert!(!realm_allowed(bad), "{bad}");
        }
    }
}
