//! Helping people get in: an operator issues an activation code (for a letter or the counter) or
//! sends a person a code to the phone or e-mail in the registry, at the person's request. An
//! operator never sets or reads a password; each action is audited with its reason.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::api::{json_body, person_by};
use super::auth::require;
use super::problem::Problem;
use crate::authn::code_delivery::{self as delivery, NotSent, Requester, Via};
use crate::authn::one_time_code::Purpose;
use crate::enrol::letters::{self, LetterError};
use crate::identity::PersonStatus;
use crate::state::App;
use crate::web::i18n::Locale;

const REASON_MAX: usize = 500;

fn reason(text: &str) -> Result<String, Problem> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > REASON_MAX {
        return Err(Problem::invalid_field("reason", format!("say why, in 1 to {REASON_MAX} characters")));
    }
    Ok(t.to_string())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationCodeIn {
    /// Why the code is issued (audited), e.g. "counter, Phường Bến Nghé, request 2026-118".
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationCodeOut {
    pub personal_id: String,
    pub name: String,
    /// Shown or printed once; only its keyed hash is kept.
    pub code: String,
    /// Unix seconds.
    pub expires_at: i64,
    /// The activation page (print it as a QR code beside the code).
    pub link: String,
}

#[utoipa::path(post, path = "/admin/v1/persons/{personal_id}/activation-code", tag = "persons", request_body = ActivationCodeIn,
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 201, body = ActivationCodeOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn activation_code(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let op = require(&app, &headers, "persons:write").await?;
    let person = person_by(&app, &pid).await?;
    let input: ActivationCodeIn = json_body(&headers, &body)?;
    let why = reason(&input.reason)?;
    let letter = letters::issue(&app, &person, &op.name, &why).await.map_err(|e| match e {
        LetterError::NotActive(_) => Problem::conflict(e.to_string()),
        LetterError::Store(s) => s.into(),
    })?;
    let out = ActivationCodeOut {
        personal_id: letter.personal_id,
        name: letter.name,
        code: letter.code,
        expires_at: letter.expires_at,
        link: letter.link,
    };
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendCodeIn {
    /// activation | recovery
    pub purpose: String,
    /// sms | email
    pub via: String,
    /// Why (audited), e.g. the helpdesk ticket.
    pub reason: String,
    /// Language of the message: vi (default) or en.
    #[serde(default)]
    pub lang: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SendCodeOut {
    pub purpose: String,
    pub via: String,
    /// The address it went to, mostly masked (tell the person where to look).
    pub sent_to: String,
    /// Minutes the code stays valid.
    pub valid_minutes: i64,
}

#[utoipa::path(post, path = "/admin/v1/persons/{personal_id}/send-code", tag = "persons", request_body = SendCodeIn,
    params(("personal_id" = String, Path, description = "12-digit personal identification number")),
    responses((status = 202, body = SendCodeOut), (status = 400, body = Problem, content_type = "application/problem+json"), (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 415, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json"), (status = 429, body = Problem, content_type = "application/problem+json"),
        (status = 502, body = Problem, content_type = "application/problem+json")),
    security(("operator" = ["persons:write"])))]
pub async fn send_code(State(app): State<Arc<App>>, headers: HeaderMap, Path(pid): Path<String>, body: Bytes) -> Result<Response, Problem> {
    let op = require(&app, &headers, "persons:write").await?;
    let person = person_by(&app, &pid).await?;
    let input: SendCodeIn = json_body(&headers, &body)?;
    let why = reason(&input.reason)?;
    let purpose = match input.purpose.as_str() {
        "activation" => Purpose::Activation,
        "recovery" => Purpose::Recovery,
        _ => return Err(Problem::invalid_field("purpose", "activation or recovery")),
    };
    let via = Via::parse(&input.via).ok_or_else(|| Problem::invalid_field("via", "sms or email"))?;
    let locale = match input.lang.as_deref() {
        None => Locale::Vi,
        Some(l) => Locale::parse(l).ok_or_else(|| Problem::invalid_field("lang", "vi or en"))?,
    };
    if person.status != PersonStatus::Active {
        return Err(Problem::conflict(format!("the account is {}: no code can open it", person.status.as_str())));
    }
    let sent_to =
        via.masked_address(&person).ok_or_else(|| Problem::conflict(format!("the registry has no {} for this person", via.as_str())))?;
    let by = Requester::Operator { name: op.name.clone(), reason: why };
    match delivery::send_code(&app, &person, purpose, via, locale, &by).await? {
        Ok(()) => {}
        Err(NotSent::NoAddress) => return Err(Problem::conflict("no address on this channel")),
        Err(NotSent::PersonLimit) => {
            return Err(Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "send-limit",
                "Too many codes",
                "this person received the most codes allowed in the window; try later",
            ));
        }
        Err(NotSent::ChannelFailed) => {
            return Err(Problem::new(
                StatusCode::BAD_GATEWAY,
                "channel-failed",
                "Not delivered",
                "the message channel refused or did not answer; see the server log",
            ));
        }
    }
    let out = SendCodeOut {
        purpose: purpose.as_str().into(),
        via: via.as_str().into(),
        sent_to,
        valid_minutes: app.settings.enrolment.code_minutes,
    };
    Ok((StatusCode::ACCEPTED, Json(out)).into_response())
}
