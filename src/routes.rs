//! The route table: every path the server answers, on one screen, and the layers around it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

use crate::state::App;
use crate::web::error::PageError;
use crate::{account, authn, enrol, oidc, signin, web};

pub fn router(app: Arc<App>) -> Router {
    let https = app.settings.issuer.scheme() == "https";
    Router::new()
        .route("/.well-known/openid-configuration", get(oidc::discovery::configuration))
        .route("/jwks", get(oidc::discovery::jwks))
        .route("/authorize", get(oidc::authorize::get).post(oidc::authorize::post))
        .route("/token", post(oidc::token::token))
        .route("/par", post(oidc::par::push))
        .route("/introspect", post(oidc::introspection::introspect))
        .route("/revoke", post(oidc::introspection::revoke))
        .route("/device_authorization", post(oidc::device::authorization))
        .route("/device", get(signin::device::page).post(signin::device::submit))
        .route("/device/confirm", get(signin::device::confirm_page).post(signin::device::confirm_submit))
        .route("/userinfo", get(oidc::userinfo::get).post(oidc::userinfo::post))
        .route("/logout", get(oidc::logout::get).post(oidc::logout::post))
        .route("/logout/confirm", post(oidc::logout::confirm))
        .route("/register", post(oidc::dynamic_registration::register))
        .route(
            "/register/{client_id}",
            get(oidc::dynamic_registration::read).put(oidc::dynamic_registration::update).delete(oidc::dynamic_registration::delete),
        )
        .route("/login", get(authn::login::page).post(authn::login::submit))
        .route("/login/totp", get(authn::login::totp_page).post(authn::login::totp_submit))
        .route(authn::upstream::CALLBACK_PATH, get(authn::upstream::callback))
        .route("/login/upstream/{id}", get(authn::upstream::start))
        .route(authn::upstream::LOGOUT_DONE_PATH, get(authn::upstream::logout_done))
        .route("/consent", get(signin::consent::page).post(signin::consent::submit))
        .route("/organisation", get(signin::organisation::page).post(signin::organisation::submit))
        .route("/satisfaction", get(signin::satisfaction::page).post(signin::satisfaction::submit))
        .route("/login/qr", get(authn::qr_login::page))
        .route("/login/qr/status", get(authn::qr_login::status))
        .route("/login/qr/continue", post(authn::qr_login::continue_submit))
        .route("/account/devices", get(authn::app_device::account_page))
        .route("/account/devices/revoke", post(authn::app_device::account_revoke))
        .route("/api/v1/devices", get(authn::app_device::list).post(authn::app_device::register))
        .route("/api/v1/devices/{id}", axum::routing::delete(authn::app_device::revoke))
        .route("/api/v1/login-requests/show", post(authn::qr_login::api_show))
        .route("/api/v1/login-requests/approve", post(authn::qr_login::api_approve))
        .route("/api/v1/device-approvals/show", post(authn::qr_login::api_device_show))
        .route("/api/v1/device-approvals/approve", post(authn::qr_login::api_device_approve))
        .route("/static/qr-login.js", get(authn::qr_login::script))
        .route("/login/certificate", post(authn::certificate::submit))
        .route("/login/certificate/challenge", post(authn::certificate::challenge))
        .route("/static/webeid.js", get(authn::certificate::script))
        .route("/login/passkey", post(authn::passkey::submit))
        .route("/login/passkey/options", post(authn::passkey::options))
        .route("/console", get(crate::console::home))
        .route("/console/signin", get(crate::console::sign_in))
        .route("/console/portals", get(crate::console::portals::list).post(crate::console::portals::create))
        .route("/console/portals/{id}", get(crate::console::portals::show))
        .route("/console/portals/{id}/{action}", post(crate::console::portals::act))
        .route("/console/people", get(crate::console::people::search))
        .route("/console/people/{personal_id}", get(crate::console::people::show))
        .route("/console/people/{personal_id}/{action}", post(crate::console::people::set_lock))
        .route("/console/audit", get(crate::console::audit_log::page))
        .route("/console/stats", get(crate::console::stats::page))
        .route("/console/operators", get(crate::console::operators::page).post(crate::console::operators::change))
        .route("/account", get(account::page))
        .route("/account/signin", get(account::sign_in))
        .route("/account/passkeys", post(account::register))
        .route("/account/passkeys/options", post(account::register_options))
        .route("/account/passkeys/remove", post(account::remove))
        .route("/account/password", post(account::factors::set_password))
        .route("/account/totp", get(account::factors::totp_form).post(account::factors::totp_submit))
        .route("/account/totp/remove", post(account::factors::totp_remove))
        .route("/account/recovery-codes", post(account::factors::new_recovery_codes))
        .route("/account/upstreams/link/{id}", get(account::upstreams::link))
        .route("/account/upstreams/unlink", post(account::upstreams::unlink))
        .route("/account/consents/withdraw", post(account::consents::withdraw_submit))
        .route("/account/disclosures", get(account::disclosures::page))
        .route("/account/sessions/end", post(account::data::end_sessions))
        .route("/account/corrections", post(account::data::request_correction))
        .route("/account/export", get(account::data::export))
        .route("/", get(web::pages::home))
        .route("/activate", get(enrol::prove::activate_page))
        .route("/activate/letter", post(enrol::prove::letter))
        .route("/activate/send", post(enrol::prove::activate_send))
        .route("/activate/code", post(enrol::prove::activate_code))
        .route("/recover", get(enrol::prove::recover_page))
        .route("/recover/send", post(enrol::prove::recover_send))
        .route("/recover/code", post(enrol::prove::recover_code))
        .route("/enrol/password", get(enrol::steps::password_form).post(enrol::steps::password_submit))
        .route("/enrol/totp", get(enrol::steps::totp_form).post(enrol::steps::totp_submit))
        .route("/enrol/skip", post(enrol::steps::skip))
        .route("/enrol/done", get(enrol::steps::done))
        .route("/static/nixa.css", get(stylesheet))
        .route("/static/passkey.js", get(passkey_script))
        .route("/static/retry.js", get(retry_script))
        .route("/static/proof-of-work.js", get(proof_of_work_script))
        .route("/api/v1/certificates/verify", post(crate::pki::api::verify))
        .route("/api/v1/credentials/verify", post(crate::credentials::api::verify))
        .route("/api/v1/credentials/qr", get(crate::credentials::api::own_qr))
        .route("/api/v1/credentials/revoke", post(crate::credentials::api::owner_revoke))
        .route("/.well-known/nixa-credential-keys.json", get(crate::credentials::api::jwks))
        .route("/.well-known/nixa-credential-keys.cbor", get(crate::credentials::api::cose_keys))
        .route("/credentials/status/{list}", get(crate::credentials::api::status_list))
        .route("/healthz", get(web::health::healthz))
        .route("/readyz", get(web::health::readyz))
        .merge(crate::admin::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(web::admission::MAX_BODY))
        // Inside the throttle: an address over its limit does not take a slot in the line.
        .layer(axum::middleware::from_fn_with_state(app.admission.clone(), web::admission::layer))
        .layer(axum::middleware::from_fn_with_state(app.throttle.clone(), web::throttle::layer))
        .layer(axum::middleware::from_fn_with_state(Arc::new(app.settings.brand.clone()), web::brand::layer))
        .layer(axum::middleware::from_fn(web::lang::remember_page))
        .layer(axum::middleware::from_fn(web::security::headers))
        .layer(axum::middleware::from_fn_with_state(https, web::security::hsts))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(on_panic))
        // So that it also sees the incidents of panics.
        .layer(axum::middleware::from_fn(web::incident::log_incidents))
        // Outermost: one line and one count per request, whatever answered it.
        .layer(axum::middleware::from_fn(web::request_log::layer))
        .with_state(app)
}

/// A panic is a bug: answer 500 with an incident id instead of dropping the connection.
fn on_panic(_: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let incident = web::incident::Incident::new("a request handler panicked");
    let body = format!("internal error, incident {}", incident.id());
    incident.attach((StatusCode::INTERNAL_SERVER_ERROR, body).into_response())
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600")),
        ],
        web::pages::STYLESHEET,
    )
}

async fn passkey_script() -> impl IntoResponse {
    web::pages::script(web::pages::PASSKEY_SCRIPT)
}

async fn retry_script() -> impl IntoResponse {
    web::pages::script(web::pages::RETRY_SCRIPT)
}

async fn proof_of_work_script() -> impl IntoResponse {
    web::pages::script(web::pages::PROOF_OF_WORK_SCRIPT)
}

/// Unknown paths: a page in the person's language (their choice, else the browser's).
async fn not_found(
    State(app): State<Arc<App>>,
    headers: axum::http::HeaderMap,
    jar: axum_extra::extract::CookieJar,
    RawQuery(q): RawQuery,
) -> PageError {
    let q = web::form::Params::from_query(&q);
    let locale = web::lang::page_locale(app.settings.default_locale, &headers, &jar, None, q.get("lang"));
    PageError::new(StatusCode::NOT_FOUND, locale, "error.not_found")
}

/// `GET /metrics` (Prometheus), on the metrics address only; the gauges read at scrape time are
/// refreshed first.
pub fn metrics_router(app: Arc<App>) -> Router {
    async fn render(State(app): State<Arc<App>>) -> impl IntoResponse {
        crate::metrics::scraped(app.store.pool_use(), &app.keys.signing_key_ages(app.now()), app.stats.dropped());
        ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], crate::metrics::render())
    }
    Router::new().route("/metrics", get(render)).with_state(app)
}
