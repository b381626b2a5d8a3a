//! A hostile registry (wiremock on loopback): digests that would walk out of the blob
//! path, blobs larger than their descriptor says, and a token realm off loopback over
//! plain http.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{Credentials, Registry};
use crate::domain::image_ref::{ImageRef, RegistryEndpoint};
use crate::domain::oci;
use crate::domain::oci::sha256_digest;

fn client(server: &MockServer) -> Registry {
    let authority = server.address().to_string();
    Registry::new(
        RegistryEndpoint::for_host(&authority),
        Credentials::Anonymous,
    )
    .expect("client")
}

fn image(server: &MockServer) -> ImageRef {
    format!("{}/base:1", server.address())
        .parse()
        .expect("reference")
}

/// Serves `manifests/1` of `base` with this config descriptor.
async fn serve_manifest(server: &MockServer, config_digest: &str, config_size: u64) {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::OCI_MANIFEST,
        "config": {"mediaType": oci::OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": []
    });
    Mock::given(method("GET"))
        .and(path("/v2/base/manifests/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", oci::OCI_MANIFEST)
                .set_body_bytes(serde_json::to_vec(&manifest).expect("json")),
        )
        .mount(server)
        .await;
}

/// Regression: a digest from a manifest went into the blob URL unchecked, so a hostile
/// registry could point requests (with the registry credentials) at any path.
#[tokio::test]
async fn digests_from_a_manifest_are_checked_before_any_url_is_built() {
    let server = MockServer::start().await;
    let bad = "sha256:../../../v2/other/blobs/x";
    serve_manifest(&server, bad, 10).await;
    let err = crate::image::source::resolve(&client(&server), &image(&server), "x86_64")
        .await
        .expect_err("a bad digest is refused");
    assert!(err.to_string().contains("not a sha256 digest"), "{err}");
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(
        requests.len(),
        1,
        "only the manifest was read: {:?}",
        requests.iter().map(|r| r.url.path()).collect::<Vec<_>>()
    );
}

/// Regression: an image config was read whole, whatever its descriptor declared, so a
/// hostile base registry could make the run hold any amount in memory.
#[tokio::test]
async fn a_config_larger_than_its_descriptor_declares_is_refused() {
    let server = MockServer::start().await;
    let config = vec![b' '; 200_000];
    let digest = sha256_digest(&config);
    serve_manifest(&server, &digest, 2).await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/base/blobs/{digest}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(config))
        .mount(&server)
        .await;
    let err = crate::image::source::resolve(&client(&server), &image(&server), "x86_64")
        .await
        .expect_err("an oversized config is refused");
    assert!(err.to_string().contains("more than the 2 bytes"), "{err}");
}

#[tokio::test]
async fn a_blob_larger_than_declared_stops_at_the_declared_size() {
    let server = MockServer::start().await;
    let blob = vec![7u8; 300_000];
    let digest = sha256_digest(&blob);
    Mock::given(method("GET"))
        .and(path(format!("/v2/base/blobs/{digest}")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(blob.clone()))
        .mount(&server)
        .await;
    let r = client(&server);
    let mut out = Vec::new();
    let err = r
        .download_blob("base", &digest, 1000, &mut out)
        .await
        .expect_err("refused");
    assert!(
        err.to_string().contains("more than the 1000 bytes"),
        "{err}"
    );
    assert!(out.len() <= 1000, "kept {} bytes", out.len());
    let mut out = Vec::new();
    let size = r
        .download_blob("base", &digest, blob.len() as u64, &mut out)
        .await
        .expect("the declared size is fine");
    assert_eq!((size, out), (blob.len() as u64, blob));
}

/// Regression: the token realm passed when it merely started with `http://127.0.0.1`,
/// so `http://127.0.0.1.example.com` would get the Basic credentials in clear text.
#[tokio::test]
async fn a_plain_http_token_realm_must_be_on_loopback() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/base/manifests/1"))
        .respond_with(ResponseTemplate::new(401).insert_header(
            "www-authenticate",
            r#"Bearer realm="http://127.0.0.1.example.com/token",service="x""#,
        ))
        .mount(&server)
        .await;
    let creds = Credentials::Basic {
        user: "AWS".into(),
        password: "hunter2".to_string().into(),
    };
    let authority = server.address().to_string();
    let r = Registry::new(RegistryEndpoint::for_host(&authority), creds).expect("client");
    let err = r.manifest("base", "1").await.expect_err("refused");
    assert!(err.to_string().contains("loopback"), "{err}");
}

#[tokio::test]
async fn a_token_service_that_never_answers_times_out() {
    let server = MockServer::start().await;
    let realm = format!("http://{}/token", server.address());
    Mock::given(method("GET"))
        .and(path("/v2/base/manifests/1"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("www-authenticate", format!(r#"Bearer realm="{realm}""#)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"token":"t"}"#)
                .set_delay(std::time::Duration::from_secs(30)),
        )
        .mount(&server)
        .await;
    let r = client(&server).with_attempt_timeout(std::time::Duration::from_secs(1));
    let err = r.manifest("base", "1").await.expect_err("times out");
    assert!(err.to_string().contains("no answer within 1s"), "{err}");
}

#[test]
fn plain_http_endpoints_must_parse_to_a_loopback_host() {
    for ok in [
        "http://127.0.0.1:5000",
        "http://127.1.2.3:5000",
        "http://localhost:5000",
        "http://[::1]:5000",
    ] {
        assert!(ok.parse::<RegistryEndpoint>().is_ok(), "{ok}");
    }
    for bad in [
        "http://127.0.0.1.example.com",
        "http://127.0.0.1.example.com:5000",
        "http://localhost.example.com",
        "http://10.0.0.1",
    ] {
        let e = bad.parse::<RegistryEndpoint>().expect_err(bad);
        assert!(e.contains("https://"), "{e}");
    }
}

#[test]
fn digests_are_sha256_and_64_lowercase_hex() {
    let good = format!("sha256:{}", "a0".repeat(32));
    assert!(super::valid_digest(&good));
    for bad in [
        String::from("sha256:"),
        format!("sha256:{}", "A0".repeat(32)),
        format!("sha512:{}", "a0".repeat(32)),
        format!("sha256:{}/", "a0".repeat(32)),
        format!("sha256:{}", "a0".repeat(31)),
        "sha256:../x".to_string(),
    ] {
        assert!(!super::valid_digest(&bad), "{bad}");
    }
}
