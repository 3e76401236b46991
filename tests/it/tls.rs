//! Native TLS: the real binary serving https with certificate files, a renewed certificate
//! taken on SIGHUP without a restart, a broken one refused while the previous one stays.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::observe::localhost_certificate;

struct Served {
    child: std::process::Child,
    stderr: std::path::PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh client (a new connection, so a new handshake) trusting `cas`; the certificate the
/// server presented, and the response.
async fn fetch(url: &str, cas: &[&std::path::Path]) -> Result<(Vec<u8>, reqwest::Response), reqwest::Error> {
    let mut client = reqwest::Client::builder().tls_info(true).timeout(Duration::from_secs(5));
    for ca in cas {
        client = client.add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap());
    }
    let res = client.build().unwrap().get(url).send().await?;
    let cert = res.extensions().get::<reqwest::tls::TlsInfo>().and_then(|i| i.peer_certificate()).map(<[u8]>::to_vec).unwrap_or_default();
    Ok((cert, res))
}

fn der(pem_file: &std::path::Path) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_file(pem_file).unwrap().to_vec()
}

#[tokio::test]
async fn https_with_a_certificate_renewed_on_sighup_and_a_broken_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let [ca_a, cert_a, key_a] = localhost_certificate(&first, "ca-a");
    let [ca_b, cert_b, key_b] = localhost_certificate(&second, "ca-b");
    let live = dir.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let (cert, key) = (live.join("cert.pem"), live.join("key.pem"));
    std::fs::copy(&cert_a, &cert).unwrap();
    std::fs::copy(&key_a, &key).unwrap();

    let port = free_port();
    let issuer = format!("https://localhost:{port}");
    let tls = format!("{{cert_file=\"{}\", key_file=\"{}\"}}", cert.display(), key.display());
    let start = |tls: &str| {
        let stderr = dir.path().join(format!("stderr-{}.log", uuid::Uuid::new_v4()));
        let child = Command::new(env!("CARGO_BIN_EXE_nixa"))
            .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .env("NIXA_ISSUER", &issuer)
            .env("NIXA_TLS", tls)
            .env("NIXA_METRICS_LISTEN", "")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        Served { child, stderr }
    };

    // A key that is not the certificate's stops the start.
    let mismatched = format!("{{cert_file=\"{}\", key_file=\"{}\"}}", cert.display(), key_b.display());
    let mut refused = start(&mismatched);
    let status = refused.child.wait().unwrap();
    let said = std::fs::read_to_string(&refused.stderr).unwrap();
    assert!(!status.success() && said.contains("is not the certificate's key"), "{said}");

    let server = start(&tls);
    let url = format!("{issuer}/.well-known/openid-configuration");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (served, res) = loop {
        match fetch(&url, &[&ca_a, &ca_b]).await {
            Ok(r) => break r,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "nixa did not serve https: {e}: {}",
                    std::fs::read_to_string(&server.stderr).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(res.status(), 200);
    assert_eq!(served, der(&cert_a), "the configured certificate");
    assert!(res.headers()["strict-transport-security"].to_str().unwrap().contains("max-age="), "HSTS over https");
    let discovery: serde_json::Value = res.json().await.unwrap();
    assert_eq!(discovery["issuer"], issuer.as_str());
    assert!(
        backchannel().get(format!("http://localhost:{port}/readyz")).timeout(Duration::from_secs(5)).send().await.is_err(),
        "no plain HTTP on a TLS port"
    );

    // The certificate is renewed in place; SIGHUP, and new connections get it.
    std::fs::copy(&cert_b, &cert).unwrap();
    std::fs::copy(&key_b, &key).unwrap();
    let hup = || assert!(Command::new("kill").args(["-HUP", &server.child.id().to_string()]).status().unwrap().success());
    hup();
    let deadline = Instant::now() + Duration::from_secs(10);
    while fetch(&url, &[&ca_a, &ca_b]).await.unwrap().0 != der(&cert_b) {
        assert!(Instant::now() < deadline, "the renewed certificate was not taken");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A broken file: refused, said, and the previous certificate still served.
    std::fs::write(&cert, "not a certificate").unwrap();
    hup();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&server.stderr).unwrap().contains("TLS certificate not reloaded") {
        assert!(Instant::now() < deadline, "the refusal is logged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (served, res) = fetch(&url, &[&ca_a, &ca_b]).await.unwrap();
    assert_eq!((served, res.status().as_u16()), (der(&cert_b), 200), "still the renewed certificate");
}
