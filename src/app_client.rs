//! A reference client of the mobile app API, for `nixa app …` and for tests: it enrolls through
//! the device authorization grant, holds a P-256 device key, and signs device proofs
//! (`authn::app_device`). What a phone app does, without the phone.

use std::path::Path;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::authn::app_device::{APP_CLIENT_ID, PROOF_TYP};
use crate::client::GRANT_DEVICE_CODE;
use crate::crypto::{b64url, b64url_decode, random_token, sha256};
use crate::keys::signing::{Alg, SigningKey};

#[derive(Debug, thiserror::Error)]
pub enum AppClientError {
    #[error("HTTP request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered with an error (JSON `error`, `error_description`).
    #[error("{status} {error}: {description}")]
    Api { status: u16, error: String, description: String },
    #[error("device key: {0}")]
    Key(String),
    #[error("state file: {0}")]
    State(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, AppClientError>;

/// What the app keeps on the phone: its device id and private key (PKCS#8, base64url).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceState {
    pub issuer: String,
    pub device_id: String,
    pub pkcs8: String,
}

impl DeviceState {
    /// Writes the state readable by its owner only: it holds a private key.
    pub fn save(&self, path: &Path) -> Result<()> {
        use std::io::Write;
        let text = serde_json::to_string_pretty(self).map_err(|e| AppClientError::State(e.to_string()))?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(text.as_bytes())?;
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(|e| AppClientError::State(e.to_string()))
    }
}

/// RFC 8628 §3.2 device authorization response.
#[derive(Debug, Clone, Deserialize)]
pub struct Authorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub interval: i64,
    pub expires_in: i64,
}

pub struct AppClient {
    http: reqwest::Client,
    pub issuer: String,
    /// Seconds added to this machine's clock in proofs (tests move the server's clock).
    pub clock_skew: i64,
}

/// A fresh P-256 key: PKCS#8 and its public JWK.
pub fn generate_key() -> Result<(Vec<u8>, Value)> {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| AppClientError::Key("generation failed".into()))?;
    let key = SigningKey::from_pkcs8(Alg::ES256, String::new(), doc.as_ref()).map_err(|e| AppClientError::Key(e.to_string()))?;
    let (_, jwk) = key.public_jwk();
    Ok((doc.as_ref().to_vec(), jwk))
}

fn now() -> i64 {
    crate::state::Clock::system_now()
}

impl AppClient {
    pub fn new(issuer: &str) -> Result<Self> {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(Self { http, issuer: issuer.trim_end_matches('/').to_string(), clock_skew: 0 })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    async fn answer(res: reqwest::Response) -> Result<Value> {
        let status = res.status().as_u16();
        if status == 204 {
            return Ok(Value::Null);
        }
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if status >= 400 {
            let s = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            return Err(AppClientError::Api { status, error: s("error"), description: s("error_description") });
        }
        Ok(body)
    }

    /// Starts the sign-in that enrolls a device (RFC 8628 §3.1).
    pub async fn start_enrollment(&self, scope: &str) -> Result<Authorization> {
        let res = self.http.post(self.url("/device_authorization")).form(&[("client_id", APP_CLIENT_ID), ("scope", scope)]).send().await?;
        serde_json::from_value(Self::answer(res).await?).map_err(|e| AppClientError::State(e.to_string()))
    }

    /// One poll (RFC 8628 §3.4): `Ok(None)` while the person has not decided yet.
    pub async fn poll_token(&self, device_code: &str) -> Result<Option<String>> {
        let form = [("grant_type", GRANT_DEVICE_CODE), ("device_code", device_code), ("client_id", APP_CLIENT_ID)];
        let res = self.http.post(self.url("/token")).form(&form).send().await?;
        match Self::answer(res).await {
            Ok(body) => Ok(body.get("access_token").and_then(Value::as_str).map(str::to_owned)),
            Err(AppClientError::Api { error, .. }) if error == "authorization_pending" || error == "slow_down" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls until the person decides, at the server's interval.
    pub async fn wait_for_token(&self, a: &Authorization) -> Result<String> {
        let interval = a.interval.max(1);
        let deadline = now() + a.expires_in;
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(interval.unsigned_abs())).await;
            match self.poll_token(&a.device_code).await {
                Ok(Some(t)) => return Ok(t),
                Ok(None) if now() < deadline => {}
                Ok(None) => return Err(AppClientError::State("the sign-in was not approved in time".into())),
                Err(e) => return Err(e),
            }
        }
    }

    /// Binds a new device key to the person `access_token` was issued for.
    pub async fn register(&self, access_token: &str, name: &str) -> Result<DeviceState> {
        let (pkcs8, jwk) = generate_key()?;
        // Until the server names the device, the key is named by its RFC 7638 thumbprint.
        let thumbprint = jwk.get("kid").and_then(Value::as_str).unwrap_or_default().to_string();
        let key = SigningKey::from_pkcs8(Alg::ES256, thumbprint, &pkcs8).map_err(|e| AppClientError::Key(e.to_string()))?;
        let claims = json!({
            "htm": "POST",
            "htu": self.url("/api/v1/devices"),
            "iat": now() + self.clock_skew,
            "jti": random_token(),
            "ath": b64url(&sha256(access_token.as_bytes())),
        });
        let proof = key.sign_jwt(PROOF_TYP, &claims).map_err(|e| AppClientError::Key(e.to_string()))?;
        let public = json!({"kty": "EC", "crv": "P-256", "x": jwk["x"], "y": jwk["y"]});
        let res = self
            .http
            .post(self.url("/api/v1/devices"))
            .bearer_auth(access_token)
            .json(&json!({"name": name, "public_jwk": public, "proof": proof}))
            .send()
            .await?;
        let body = Self::answer(res).await?;
        let device_id =
            body.get("device_id").and_then(Value::as_str).ok_or_else(|| AppClientError::State("no device_id in the answer".into()))?;
        Ok(DeviceState { issuer: self.issuer.clone(), device_id: device_id.to_string(), pkcs8: b64url(&pkcs8) })
    }

    /// A device proof for `method path` carrying `extra` claims.
    pub fn proof(&self, state: &DeviceState, method: &str, path: &str, extra: Value) -> Result<String> {
        let pkcs8 = b64url_decode(&state.pkcs8).ok_or_else(|| AppClientError::State("the key is not base64url".into()))?;
        let key = SigningKey::from_pkcs8(Alg::ES256, state.device_id.clone(), &pkcs8).map_err(|e| AppClientError::Key(e.to_string()))?;
        let mut claims = json!({"htm": method, "htu": self.url(path), "iat": now() + self.clock_skew, "jti": random_token()});
        if let (Some(c), Value::Object(extra)) = (claims.as_object_mut(), extra) {
            c.extend(extra);
        }
        key.sign_jwt(PROOF_TYP, &claims).map_err(|e| AppClientError::Key(e.to_string()))
    }

    /// A device-signed call; the parameters travel in the proof.
    pub async fn call(&self, state: &DeviceState, method: reqwest::Method, path: &str, extra: Value) -> Result<Value> {
        let proof = self.proof(state, method.as_str(), path, extra)?;
        let res = self.http.request(method, self.url(path)).header("authorization", format!("Device {proof}")).send().await?;
        Self::answer(res).await
    }

    /// What a QR code (or short code) asks: the portal and the data.
    pub async fn show_login(&self, state: &DeviceState, request: &str) -> Result<Value> {
        self.call(state, reqwest::Method::POST, "/api/v1/login-requests/show", json!({"request": request})).await
    }

    /// Approves (or denies) a QR sign-in; `uv`: the person passed the phone's biometrics or PIN.
    pub async fn decide_login(&self, state: &DeviceState, request: &str, approve: bool, uv: bool) -> Result<Value> {
        let decision = if approve { "approve" } else { "deny" };
        self.call(
            state,
            reqwest::Method::POST,
            "/api/v1/login-requests/approve",
            json!({"request": request, "decision": decision, "uv": uv}),
        )
        .await
    }

    pub async fn show_device_code(&self, state: &DeviceState, user_code: &str) -> Result<Value> {
        self.call(state, reqwest::Method::POST, "/api/v1/device-approvals/show", json!({"user_code": user_code})).await
    }

    pub async fn decide_device_code(&self, state: &DeviceState, user_code: &str, approve: bool, uv: bool) -> Result<Value> {
        let decision = if approve { "approve" } else { "deny" };
        self.call(
            state,
            reqwest::Method::POST,
            "/api/v1/device-approvals/approve",
            json!({"user_code": user_code, "decision": decision, "uv": uv}),
        )
        .await
    }

    pub async fn devices(&self, state: &DeviceState) -> Result<Value> {
        self.call(state, reqwest::Method::GET, "/api/v1/devices", json!({})).await
    }

    pub async fn revoke(&self, state: &DeviceState, device_id: &str) -> Result<Value> {
        self.call(state, reqwest::Method::DELETE, &format!("/api/v1/devices/{device_id}"), json!({})).await
    }
}

/// The `nixa app …` commands: what the app's screens would show, printed.
pub mod cli {
    use std::io::{BufRead, Write};
    use std::path::Path;

    use serde_json::Value;

    use super::{AppClient, AppClientError, DeviceState, Result};

    fn show(kind: &str, v: &Value) {
        let portal = v.pointer("/portal/name").and_then(Value::as_str).unwrap_or_default();
        let client = v.pointer("/portal/client_id").and_then(Value::as_str).unwrap_or_default();
        println!("{kind} for: {portal} ({client})");
        if let Some(code) = v.get("short_code").or_else(|| v.get("user_code")).and_then(Value::as_str) {
            println!("code: {code} (check that the screen shows the same code)");
        }
        println!("it will receive:");
        for d in v.get("data").and_then(Value::as_array).into_iter().flatten() {
            println!(
                "  - {} / {}",
                d.get("vi").and_then(Value::as_str).unwrap_or_default(),
                d.get("en").and_then(Value::as_str).unwrap_or_default()
            );
        }
    }

    fn confirm(yes: bool) -> Result<bool> {
        if yes {
            return Ok(true);
        }
        print!("Approve? [y/N] ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(matches!(line.trim(), "y" | "Y" | "yes"))
    }

    /// `nixa app enroll`: signs in through the device grant and binds a new key.
    pub async fn enroll(issuer: &str, state_file: &Path, name: &str) -> Result<()> {
        if state_file.exists() {
            return Err(AppClientError::State(format!("{} exists already; choose another file", state_file.display())));
        }
        let client = AppClient::new(issuer)?;
        let a = client.start_enrollment("openid profile").await?;
        println!("Open {} and enter the code {}", a.verification_uri, a.user_code);
        if let Some(u) = &a.verification_uri_complete {
            println!("(or open {u})");
        }
        let token = client.wait_for_token(&a).await?;
        let state = client.register(&token, name).await?;
        state.save(state_file)?;
        println!("device {} bound; key saved to {}", state.device_id, state_file.display());
        Ok(())
    }

    /// `nixa app approve`: a QR text or short code.
    pub async fn approve(state_file: &Path, request: &str, deny: bool, yes: bool) -> Result<()> {
        let state = DeviceState::load(state_file)?;
        let client = AppClient::new(&state.issuer)?;
        show("Sign-in", &client.show_login(&state, request).await?);
        let approve = !deny && confirm(yes)?;
        let v = client.decide_login(&state, request, approve, approve).await?;
        println!("{}", v.get("status").and_then(Value::as_str).unwrap_or_default());
        Ok(())
    }

    /// `nixa app approve-device`: an RFC 8628 user code.
    pub async fn approve_device(state_file: &Path, user_code: &str, deny: bool, yes: bool) -> Result<()> {
        let state = DeviceState::load(state_file)?;
        let client = AppClient::new(&state.issuer)?;
        show("Device", &client.show_device_code(&state, user_code).await?);
        let approve = !deny && confirm(yes)?;
        let v = client.decide_device_code(&state, user_code, approve, approve).await?;
        println!("{}", v.get("status").and_then(Value::as_str).unwrap_or_default());
        Ok(())
    }

    /// `nixa app devices`, and `--revoke ID`.
    pub async fn devices(state_file: &Path, revoke: Option<&str>) -> Result<()> {
        let state = DeviceState::load(state_file)?;
        let client = AppClient::new(&state.issuer)?;
        if let Some(id) = revoke {
            client.revoke(&state, id).await?;
            println!("revoked {id}");
            return Ok(());
        }
        let v = client.devices(&state).await?;
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        Ok(())
    }
}
