//! Getting in: activation by an operator's code or a code sent to the registry's phone or
//! e-mail, the password rules, the authenticator app and recovery codes, "forgot password", the
//! operator's admin API, and every refusal (expired, used, wrong, someone else's code, the sixth
//! try, unknown ID numbers answered like known ones, send limits). Messages go to the file
//! channel here; `browser/enrolment.test.mjs` runs the same paths over SMTP and an SMS gateway.

use std::path::{Path, PathBuf};

use nixa::authn::one_time_code::Purpose;
use nixa::identity::{AccountLevel, Person, PersonStatus};
use serde_json::{Value, json};

use crate::common::*;

const AN_BA: &str = "001095012345";
const CHI: &str = "079198054321";
const DUNG: &str = "048200011111";
const STRONG: &str = "mây trắng bay về núi xa";

struct Setup {
    server: TestServer,
    _dir: tempfile::TempDir,
    messages: PathBuf,
}

async fn setup_with(adjust: impl FnOnce(&mut nixa::config::Config)) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let messages = dir.path().join("messages.txt");
    let file = messages.clone();
    let server = TestServer::start_with(move |c| {
        c.channels.file = Some(file);
        adjust(c);
    })
    .await;
    Setup { server, _dir: dir, messages }
}

async fn setup() -> Setup {
    setup_with(|_| {}).await
}

/// The last code sent to `to` through the file channel (waits for the background sender).
async fn code_sent_to(messages: &Path, to: &str) -> String {
    for _ in 0..100 {
        if let Some(code) = last_code(messages, to) {
            return code;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no code was sent to {to}")
}

fn messages_to(messages: &Path, to: &str) -> Vec<String> {
    let text = std::fs::read_to_string(messages).unwrap_or_default();
    text.split("To: ").filter(|b| b.starts_with(&format!("{to}\n"))).map(str::to_string).collect()
}

fn last_code(messages: &Path, to: &str) -> Option<String> {
    let block = messages_to(messages, to).pop()?;
    // The text after the address and subject lines.
    let digits: Vec<char> = block.lines().skip(2).collect::<Vec<_>>().join("\n").chars().collect();
    digits.windows(6).find(|w| w.iter().all(char::is_ascii_digit)).map(|w| w.iter().collect())
}

/// Opens a start page and returns its CSRF token.
async fn start(browser: &Browser, path: &str) -> String {
    let page = browser.get(path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.field("csrf")
}

async fn letter(server: &TestServer, p: &Person) -> String {
    nixa::enrol::letters::issue(&server.app, p, "tester", "test").await.unwrap().code
}

async fn submit_letter(browser: &Browser, csrf: &str, pid: &str, birth: &str, code: &str) -> Page {
    browser.post("/activate/letter", &[("csrf", csrf), ("personal_id", pid), ("birthdate", birth), ("code", code)]).await
}

/// Sets the password on the ticket's password page; returns the redirect.
async fn choose_password(browser: &Browser, password: &str) -> Page {
    let page = browser.get("/enrol/password").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = page.field("csrf");
    browser.post("/enrol/password", &[("csrf", &csrf), ("password", password), ("confirm", password)]).await
}

/// The secret an authenticator-app page shows as its key (groups of four, base32).
fn app_secret(page: &Page) -> Vec<u8> {
    let marker = "id=\"totp-key\">";
    let start = page.body.find(marker).unwrap() + marker.len();
    let key: String = page.body[start..].split('<').next().unwrap().replace(' ', "");
    totp_rs::Secret::Encoded(key).to_bytes().unwrap()
}

/// Sets up the authenticator app on the ticket's page; returns the secret and the page shown.
async fn set_up_totp(server: &TestServer, browser: &Browser) -> (Vec<u8>, Page) {
    let page = browser.get("/enrol/totp").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let secret = app_secret(&page);
    let csrf = page.field("csrf");
    let wrong = browser.post("/enrol/totp", &[("csrf", &csrf), ("code", "000000")]).await;
    assert_eq!((wrong.status, wrong.error_key().as_deref()), (400, Some("enrol.totp.error")));
    let code = nixa::authn::totp::current_code(&secret, server.app.now()).unwrap();
    let shown = browser.post("/enrol/totp", &[("csrf", &csrf), ("code", &code)]).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    (secret, shown)
}

fn recovery_codes(page: &Page) -> Vec<String> {
    page.body.split("<li><code>").skip(1).map(|s| s[..s.find('<').unwrap()].to_string()).collect()
}

#[tokio::test]
async fn a_counter_code_activates_a_level_2_account_that_then_signs_into_a_portal() {
    let s = setup().await;
    let person = imported_person(&s.server, AN_BA, "1995-03-14", AccountLevel::Level2).await;
    let code = letter(&s.server, &person).await;
    assert_eq!(code.len(), 14);
    let b = s.server.browser();
    let csrf = start(&b, "/activate").await;

    // Wrong birth date: the same words as every other refusal.
    let wrong = submit_letter(&b, &csrf, AN_BA, "15/03/1995", &code).await;
    assert_eq!((wrong.status, wrong.error_key().as_deref()), (400, Some("enrol.error.details")));
    // Typed as people type: lower case, spaces instead of dashes, the date with slashes.
    let ok = submit_letter(&b, &csrf, AN_BA, "14/03/1995", &code.to_lowercase().replace('-', " ")).await;
    assert_eq!((ok.status, ok.location.as_deref()), (303, Some("/enrol/password")), "{}", ok.body);
    // The step pages switch language like every other page, and remember it.
    let en = b.get("/enrol/password?lang=en").await;
    assert!(en.body.contains("<html lang=\"en\"") && en.body.contains("Choose a password"), "{}", en.body);
    assert!(en.body.contains("href=\"/enrol/password?lang=vi\""));
    assert!(b.get("/enrol/password").await.body.contains("<html lang=\"en\""));

    // Weak passwords are refused with the reason; nothing is stored.
    for (weak, reason) in
        [("matkhau123", "password.error.guessable"), ("14031995", "password.error.personal"), ("short", "password.error.too_short")]
    {
        let page = choose_password(&b, weak).await;
        assert_eq!((page.status, page.error_key().as_deref()), (400, Some(reason)), "{weak}");
    }
    let (_, state) = s.server.app.store.person_for_login_by_id(&person.id).await.unwrap().unwrap();
    assert!(state.password_hash.is_none());
    // A good one, shorter than 15: the level-2 account must set up the app (no "later").
    let next = choose_password(&b, "ba con mèo tam thể").await;
    assert_eq!(next.location.as_deref(), Some("/enrol/totp"));
    let totp_page = b.get("/enrol/totp").await;
    assert!(!totp_page.body.contains("/enrol/skip"), "a level-2 account cannot skip the second factor");
    let (secret, shown) = set_up_totp(&s.server, &b).await;
    let codes = recovery_codes(&shown);
    assert_eq!(codes.len(), 10);
    let done = b.get("/enrol/done").await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("/account"));
    // The ticket is over; the code was used.
    assert_eq!(b.get("/enrol/password").await.status, 400);
    let again = submit_letter(&b, &csrf, AN_BA, "14/03/1995", &code).await;
    assert_eq!(again.error_key().as_deref(), Some("enrol.error.details"));

    // The person signs into a portal with the new password and the app: loa:2.
    s.server.app.clock.advance(30);
    let portal = s.server.browser();
    let (verifier, challenge) = pkce_pair();
    let page = portal.sign_in(&authorize_url(&s.server, DVC, DVC_REDIRECT, &challenge, &[]), (AN_BA, "ba con mèo tam thể")).await;
    let code_now = nixa::authn::totp::current_code(&secret, s.server.app.now()).unwrap();
    let mut page = portal.submit_totp(&page, &code_now).await;
    if page.url.contains("/consent?r=") {
        page = portal.consent(&page, "approve").await;
    }
    let (status, tokens) = redeem(&s.server, &page.query("code").unwrap(), &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["acr"], "urn:vn:eid:loa:2");
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));

    // A recovery code stands in for the app, once.
    let other = s.server.browser();
    let page = other.sign_in(&authorize_url(&s.server, DVC, DVC_REDIRECT, &challenge, &[]), (AN_BA, "ba con mèo tam thể")).await;
    let page = other.submit_totp(&page, &codes[0].to_lowercase()).await;
    assert!(page.location.as_deref().is_some_and(|l| l.contains("code=")), "{:?} {}", page.location, page.body);
    let third = s.server.browser();
    let page = third.sign_in(&authorize_url(&s.server, DVC, DVC_REDIRECT, &challenge, &[]), (AN_BA, "ba con mèo tam thể")).await;
    let reused = third.submit_totp(&page, &codes[0]).await;
    assert_eq!(reused.status, 401, "a used recovery code is refused");
}

#[tokio::test]
async fn codes_by_sms_and_e_mail_activate_and_a_long_password_may_stand_alone() {
    let s = setup().await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level1).await;
    let b = s.server.browser();
    let csrf = start(&b, "/activate").await;
    let sent = b.post("/activate/send", &[("csrf", &csrf), ("personal_id", CHI), ("birthdate", "01/07/1998"), ("via", "sms")]).await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("action=\"/activate/code\""));
    let phone = chi.phone.clone().unwrap();
    let code = code_sent_to(&s.messages, &phone).await;
    let text = messages_to(&s.messages, &phone).pop().unwrap();
    assert!(text.contains("Không chia sẻ"), "Vietnamese by default: {text}");
    let ok = b.post("/activate/code", &[("csrf", &csrf), ("personal_id", CHI), ("via", "sms"), ("code", &code)]).await;
    assert_eq!(ok.location.as_deref(), Some("/enrol/password"), "{}", ok.body);
    // 15 characters or more: a level-1 person may leave the second factor for later.
    assert_eq!(choose_password(&b, STRONG).await.location.as_deref(), Some("/enrol/totp"));
    let page = b.get("/enrol/totp").await;
    let csrf_t = page.field("csrf");
    let later = b.post("/enrol/skip", &[("csrf", &csrf_t)]).await;
    assert_eq!(later.location.as_deref(), Some("/enrol/done"));
    assert_eq!(b.get("/enrol/done").await.status, 200);
    let (code_, verifier) = code_for(&s.server, &s.server.browser(), (CHI, STRONG)).await;
    let (status, tokens) = redeem(&s.server, &code_, &verifier).await;
    assert_eq!(status, 200);
    assert_eq!(id_token_claims(&tokens)["acr"], "urn:vn:eid:loa:1");

    // E-mail, in English, for another person.
    let dung = imported_person(&s.server, DUNG, "2000-01-31", AccountLevel::Level1).await;
    let b = s.server.browser();
    let csrf = start(&b, "/activate?lang=en").await;
    b.post("/activate/send", &[("csrf", &csrf), ("personal_id", DUNG), ("birthdate", "2000-01-31"), ("via", "email")]).await;
    let email = dung.email.clone().unwrap();
    let code = code_sent_to(&s.messages, &email).await;
    assert!(messages_to(&s.messages, &email).pop().unwrap().contains("Do not share"));
    let ok = b.post("/activate/code", &[("csrf", &csrf), ("personal_id", DUNG), ("via", "email"), ("code", &code)]).await;
    assert_eq!(ok.location.as_deref(), Some("/enrol/password"));
    // Shorter than 15 with no second factor yet: the app becomes required.
    assert_eq!(choose_password(&b, "ba con mèo tam").await.location.as_deref(), Some("/enrol/totp"));
    assert!(!b.get("/enrol/totp").await.body.contains("/enrol/skip"));
    // An account that has a password cannot be "activated" again by a sent code: nothing is sent.
    let before = messages_to(&s.messages, &phone).len();
    let b2 = s.server.browser();
    let csrf2 = start(&b2, "/activate").await;
    let same = b2.post("/activate/send", &[("csrf", &csrf2), ("personal_id", CHI), ("birthdate", "01/07/1998"), ("via", "sms")]).await;
    assert_eq!(same.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(messages_to(&s.messages, &phone).len(), before);
}

/// The page of a refusal with what differs per request (the CSRF token) taken out.
fn comparable(page: &Page) -> (u16, String) {
    let csrf = page.body.find("name=\"csrf\" value=\"").map(|_| page.field("csrf")).unwrap_or_default();
    (page.status, page.body.replace(&csrf, "CSRF"))
}

#[tokio::test]
async fn codes_are_single_use_short_lived_bound_to_a_person_and_die_on_the_sixth_try() {
    let s = setup().await;
    let an = imported_person(&s.server, AN_BA, "1995-03-14", AccountLevel::Level1).await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level1).await;
    let b = s.server.browser();
    let csrf = start(&b, "/activate").await;

    // Someone else's code.
    let chis = letter(&s.server, &chi).await;
    let _ans = letter(&s.server, &an).await;
    let other = submit_letter(&b, &csrf, AN_BA, "14/03/1995", &chis).await;
    assert_eq!(other.error_key().as_deref(), Some("enrol.error.details"));

    // Five wrong tries (the one above was the first); the right code is dead after them.
    let ans = letter(&s.server, &an).await;
    for _ in 0..5 {
        let wrong = submit_letter(&b, &csrf, AN_BA, "14/03/1995", "AAAA-BBBB-CCCC").await;
        assert_eq!(wrong.error_key().as_deref(), Some("enrol.error.details"));
    }
    let sixth = submit_letter(&b, &csrf, AN_BA, "14/03/1995", &ans).await;
    assert_eq!((sixth.status, sixth.error_key().as_deref()), (400, Some("enrol.error.details")));

    // Wrong birth dates do not spend tries: a stranger with the card number cannot kill a letter.
    let ans = letter(&s.server, &an).await;
    for _ in 0..6 {
        submit_letter(&b, &csrf, AN_BA, "01/01/1990", &ans).await;
    }
    let ok = submit_letter(&b, &csrf, AN_BA, "14/03/1995", &ans).await;
    assert_eq!(ok.location.as_deref(), Some("/enrol/password"));
    // …and used once.
    let used = submit_letter(&b, &csrf, AN_BA, "14/03/1995", &ans).await;
    assert_eq!(used.error_key().as_deref(), Some("enrol.error.details"));

    // Expired: letters after `letter_code_days`, sent codes after `code_minutes`.
    let late = letter(&s.server, &chi).await;
    s.server.app.clock.advance(30 * 86_400 + 1);
    let expired = submit_letter(&b, &csrf, CHI, "01/07/1998", &late).await;
    assert_eq!(expired.error_key().as_deref(), Some("enrol.error.details"));
    let csrf = start(&b, "/activate").await;
    b.post("/activate/send", &[("csrf", &csrf), ("personal_id", CHI), ("birthdate", "01/07/1998"), ("via", "email")]).await;
    let sent = code_sent_to(&s.messages, chi.email.as_deref().unwrap()).await;
    s.server.app.clock.advance(10 * 60 + 1);
    let expired = b.post("/activate/code", &[("csrf", &csrf), ("personal_id", CHI), ("via", "email"), ("code", &sent)]).await;
    assert_eq!((expired.status, expired.error_key().as_deref()), (400, Some("enrol.error.details")));
    // A code for activation does not open recovery (bound to its purpose).
    assert!(matches!(
        nixa::authn::one_time_code::check(&s.server.app, &chi.id, Purpose::Recovery, &sent).await.unwrap(),
        nixa::authn::one_time_code::Checked::NoCode
    ));

    // Unknown ID numbers get the same page as known ones, at every step.
    let unknown = "001099999999";
    let known = comparable(&submit_letter(&b, &csrf, AN_BA, "14/03/1995", "AAAA-BBBB-CCCC").await);
    let stranger = comparable(&submit_letter(&b, &csrf, unknown, "14/03/1995", "AAAA-BBBB-CCCC").await);
    assert_eq!(known.0, stranger.0);
    assert_eq!(known.1.replace(AN_BA, "ID"), stranger.1.replace(unknown, "ID"));
    for mode in ["activate", "recover"] {
        let csrf = start(&b, &format!("/{mode}")).await;
        let send = |pid: &'static str| {
            let csrf = csrf.clone();
            let b = &b;
            async move {
                b.post(&format!("/{mode}/send"), &[("csrf", &csrf), ("personal_id", pid), ("birthdate", "14/03/1995"), ("via", "sms")])
                    .await
            }
        };
        let (k, u) = (comparable(&send(AN_BA).await), comparable(&send("001099999999").await));
        assert_eq!(k.0, u.0);
        assert_eq!(k.1.replace(AN_BA, "ID"), u.1.replace(unknown, "ID"), "{mode}/send");
        let check = |pid: &'static str| {
            let csrf = csrf.clone();
            let b = &b;
            async move { b.post(&format!("/{mode}/code"), &[("csrf", &csrf), ("personal_id", pid), ("via", "sms"), ("code", "123456")]).await }
        };
        let (k, u) = (comparable(&check(AN_BA).await), comparable(&check("001099999999").await));
        assert_eq!(k.0, u.0);
        assert_eq!(k.1.replace(AN_BA, "ID"), u.1.replace(unknown, "ID"), "{mode}/code");
    }

    // Forms not from this browser are refused; malformed input gets its own words.
    let foreign = s.server.browser();
    let r = foreign.post("/activate/letter", &[("csrf", &csrf), ("personal_id", AN_BA), ("birthdate", "14/03/1995"), ("code", "x")]).await;
    assert_eq!(r.status, 403);
    let bad_id = submit_letter(&b, &csrf, "12345", "14/03/1995", "x").await;
    assert_eq!((bad_id.status, bad_id.error_key().as_deref()), (400, Some("login.error.malformed_id")));
    let bad_date = submit_letter(&b, &csrf, AN_BA, "31/02/1995", "x").await;
    assert_eq!((bad_date.status, bad_date.error_key().as_deref()), (400, Some("enrol.error.birthdate")));

    // A locked account cannot be opened by a code alone.
    let ans = letter(&s.server, &an).await;
    s.server.app.store.set_person_status(&an.id, PersonStatus::LockedByOperator.as_str(), s.server.app.now()).await.unwrap();
    let locked = submit_letter(&b, &csrf, AN_BA, "14/03/1995", &ans).await;
    assert_eq!((locked.status, locked.error_key().as_deref()), (403, Some("enrol.error.inactive")));
    assert!(
        nixa::enrol::letters::issue(&s.server.app, &s.server.app.store.person(&an.id).await.unwrap().unwrap(), "t", "t").await.is_err()
    );

    // No code, no password in the audit log.
    let audit = s.server.app.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.event == "enrol.code_refused"));
    for e in &audit {
        assert!(!e.detail.contains(&ans) && !e.detail.contains(&sent) && !e.detail.contains("mèo"), "{}", e.detail);
    }
}

#[tokio::test]
async fn sending_is_limited_per_person_and_per_client_address() {
    let s = setup_with(|c| {
        c.enrolment.sends_per_person = 2;
        c.enrolment.sends_per_address = 6;
    })
    .await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level1).await;
    let phone = chi.phone.clone().unwrap();
    let b = s.server.browser();
    let csrf = start(&b, "/activate").await;
    let form = [("csrf", csrf.as_str()), ("personal_id", CHI), ("birthdate", "01/07/1998"), ("via", "sms")];
    let send = || b.post("/activate/send", &form);
    for _ in 0..3 {
        assert_eq!(send().await.status, 200, "the person's limit is invisible to the asker");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(messages_to(&s.messages, &phone).len(), 2, "the third code was not sent");
    let audit = s.server.app.store.audit_entries(0, 10_000).await.unwrap();
    assert!(audit.iter().any(|e| e.event == "enrol.code_refused" && e.detail.contains("send_limit")));
    // The client address: every request counts, for any ID number.
    for _ in 0..3 {
        b.post("/activate/send", &[("csrf", &csrf), ("personal_id", "001099999999"), ("birthdate", "01/07/1998"), ("via", "sms")]).await;
    }
    let over = send().await;
    assert_eq!((over.status, over.error_key().as_deref()), (429, Some("enrol.error.too_many")));
    // A new window.
    s.server.app.clock.advance(3601);
    assert_eq!(send().await.status, 200);
}

#[tokio::test]
async fn recovery_ends_every_session_and_refresh_token_and_tells_the_other_channel() {
    let s = setup().await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level1).await;
    let hash = nixa::authn::password::hash("old password that is long").unwrap();
    s.server.app.store.set_password_hash(&chi.id, &hash, s.server.app.now()).await.unwrap();
    nixa::enrol::notify::run(&s.server.app).await.unwrap(); // the notifier starts at the log's end
    // A session in one browser, with tokens at a portal.
    let elsewhere = s.server.browser();
    let (code, verifier) = code_for(&s.server, &elsewhere, (CHI, "old password that is long")).await;
    let (_, tokens) = redeem(&s.server, &code, &verifier).await;
    assert!(elsewhere.get("/account").await.status == 200);

    let b = s.server.browser();
    let csrf = start(&b, "/recover").await;
    b.post("/recover/send", &[("csrf", &csrf), ("personal_id", CHI), ("birthdate", "01/07/1998"), ("via", "sms")]).await;
    let code = code_sent_to(&s.messages, chi.phone.as_deref().unwrap()).await;
    assert!(messages_to(&s.messages, chi.phone.as_deref().unwrap()).pop().unwrap().contains("khôi phục"));
    let ok = b.post("/recover/code", &[("csrf", &csrf), ("personal_id", CHI), ("via", "sms"), ("code", &code)]).await;
    assert_eq!(ok.location.as_deref(), Some("/enrol/password"));
    let page = b.get("/enrol/password").await;
    assert!(page.body.contains("15"), "no second factor: the password stands alone");
    let short = choose_password(&b, "ba con mèo tam").await;
    assert_eq!(short.error_key().as_deref(), Some("password.error.too_short_alone"));
    // Recovery sets a password and nothing more: no second-factor step.
    assert_eq!(choose_password(&b, STRONG).await.location.as_deref(), Some("/enrol/done"));
    let done = b.get("/enrol/done").await;
    assert_eq!(done.status, 200);

    // The other browser's session is gone; its refresh token too.
    let account = elsewhere.get("/account").await;
    assert_eq!(account.status, 303, "the old session must not open the account page");
    if let Some(rt) = tokens["refresh_token"].as_str() {
        let r = backchannel()
            .post(s.server.url("/token"))
            .basic_auth(DVC, Some(DVC_SECRET))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    let audit = s.server.app.store.audit_entries(0, 10_000).await.unwrap();
    let recovered = audit.iter().find(|e| e.event == "enrol.recovered").unwrap();
    assert!(recovered.detail.contains("\"sessions_ended\":1"), "{}", recovered.detail);
    // The old password is gone, the new one works.
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&s.server, DVC, DVC_REDIRECT, &challenge, &[]);
    assert_eq!(s.server.browser().sign_in(&url, (CHI, "old password that is long")).await.status, 401);
    code_for(&s.server, &s.server.browser(), (CHI, STRONG)).await;
    // The person is told by e-mail (not by the SMS the recovery went through).
    let before = messages_to(&s.messages, chi.email.as_deref().unwrap()).len();
    assert!(nixa::enrol::notify::run(&s.server.app).await.unwrap() >= 1);
    let mails = messages_to(&s.messages, chi.email.as_deref().unwrap());
    let mails = &mails[before..];
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert!(mails[0].contains("khôi phục tài khoản"), "{mails:?}");
    // …and about the sign-in from the new browser just after.
    assert!(mails[1].contains("thiết bị mới"), "{mails:?}");
    let sms = messages_to(&s.messages, chi.phone.as_deref().unwrap());
    assert!(!sms.iter().any(|m| m.contains("khôi phục tài khoản lúc")), "the recovery channel is not told: {sms:?}");
}

async fn admin(server: &TestServer, path: &str, token: &str, body: Value) -> (u16, Value) {
    let r = backchannel().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn operators_issue_letters_and_send_codes_but_never_see_a_password() {
    let s = setup().await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level1).await;
    let t = nixa::crypto::random_token();
    let op = nixa::store::operators::OperatorToken {
        name: "helpdesk-7".into(),
        scopes: vec!["persons:write".into()],
        expires_at: s.server.app.now() + 3600,
    };
    s.server.app.store.insert_operator_token(&nixa::crypto::token_hash(&t), &op, s.server.app.now()).await.unwrap();

    let (status, letter) =
        admin(&s.server, &format!("/admin/v1/persons/{CHI}/activation-code"), &t, json!({"reason": "counter request 118"})).await;
    assert_eq!(status, 201, "{letter}");
    assert!(letter["link"].as_str().unwrap().ends_with("/activate"));
    let b = s.server.browser();
    let csrf = start(&b, "/activate").await;
    let ok = submit_letter(&b, &csrf, CHI, "01/07/1998", letter["code"].as_str().unwrap()).await;
    assert_eq!(ok.location.as_deref(), Some("/enrol/password"));

    let (status, sent) = admin(
        &s.server,
        &format!("/admin/v1/persons/{CHI}/send-code"),
        &t,
        json!({"purpose": "activation", "via": "sms", "reason": "ticket 9"}),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["sent_to"], format!("•••••••{}", &chi.phone.as_deref().unwrap()[7..]));
    assert_eq!(last_code(&s.messages, chi.phone.as_deref().unwrap()).map(|c| c.len()), Some(6));

    for (body, status, kind) in [
        (json!({"purpose": "activation", "via": "sms"}), 400, None),
        (json!({"purpose": "activation", "via": "sms", "reason": " "}), 422, Some("invalid-field")),
        (json!({"purpose": "password", "via": "sms", "reason": "x"}), 422, Some("invalid-field")),
        (json!({"purpose": "activation", "via": "fax", "reason": "x"}), 422, Some("invalid-field")),
    ] {
        let (st, problem) = admin(&s.server, &format!("/admin/v1/persons/{CHI}/send-code"), &t, body.clone()).await;
        assert_eq!(st, status, "{body}: {problem}");
        if let Some(k) = kind {
            assert!(problem["type"].as_str().unwrap().ends_with(k), "{problem}");
        }
    }
    let (st, _) =
        admin(&s.server, "/admin/v1/persons/001099999999/send-code", &t, json!({"purpose": "activation", "via": "sms", "reason": "x"}))
            .await;
    assert_eq!(st, 404);
    s.server.app.store.set_person_status(&chi.id, PersonStatus::LockedByOperator.as_str(), s.server.app.now()).await.unwrap();
    let (st, _) = admin(&s.server, &format!("/admin/v1/persons/{CHI}/activation-code"), &t, json!({"reason": "x"})).await;
    assert_eq!(st, 409);
    // Audited with the operator and the reason, never the code.
    let audit = s.server.app.store.audit_entries(0, 10_000).await.unwrap();
    let issued = audit.iter().find(|e| e.event == "enrol.activation_code_issued").unwrap();
    assert!(issued.detail.contains("helpdesk-7") && issued.detail.contains("counter request 118"));
    assert!(!issued.detail.contains(letter["code"].as_str().unwrap()));
    let sent = audit.iter().find(|e| e.event == "enrol.code_sent").unwrap();
    assert!(sent.detail.contains("ticket 9"));
}

/// Signs in to the account page with a password (and the app's code when asked); the page.
async fn account_sign_in(s: &Setup, browser: &Browser, pid: &str, password: &str, secret: Option<&[u8]>) -> Page {
    let login = browser.follow(browser.get("/account").await).await;
    let (r, csrf) = (login.field("r"), login.field("csrf"));
    let mut page =
        browser.follow(browser.post("/login", &[("r", &r), ("csrf", &csrf), ("personal_id", pid), ("password", password)]).await).await;
    if let Some(secret) = secret {
        s.server.app.clock.advance(30);
        page = browser.submit_totp(&page, &nixa::authn::totp::current_code(secret, s.server.app.now()).unwrap()).await;
    }
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"account-facts\""), "{}", page.body);
    page
}

#[tokio::test]
async fn the_account_page_sets_up_and_removes_the_app_and_changes_the_password() {
    let s = setup().await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level1).await;
    let hash = nixa::authn::password::hash(STRONG).unwrap();
    s.server.app.store.set_password_hash(&chi.id, &hash, s.server.app.now()).await.unwrap();
    nixa::enrol::notify::run(&s.server.app).await.unwrap();
    let b = s.server.browser();
    let page = account_sign_in(&s, &b, CHI, STRONG, None).await;
    assert!(page.body.contains("data-totp=\"off\"") && page.body.contains("id=\"totp-setup\""));

    // The app: a level-1 person's first second factor, after a recent password sign-in.
    let setup_page = b.get("/account/totp").await;
    assert_eq!(setup_page.status, 200, "{}", setup_page.body);
    let secret = app_secret(&setup_page);
    let (csrf, pending) = (setup_page.field("csrf"), setup_page.field("pending"));
    // The pending secret is sealed to this session: another browser cannot use it.
    let other = s.server.browser();
    account_sign_in(&s, &other, CHI, STRONG, None).await;
    let code = nixa::authn::totp::current_code(&secret, s.server.app.now()).unwrap();
    let other_csrf = other.get("/account").await.field("csrf");
    let stolen = other.post("/account/totp", &[("csrf", &other_csrf), ("pending", &pending), ("code", &code)]).await;
    assert_eq!(stolen.status, 400);
    let shown = b.post("/account/totp", &[("csrf", &csrf), ("pending", &pending), ("code", &code)]).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_eq!(recovery_codes(&shown).len(), 10);
    let page = b.get("/account").await;
    assert!(page.body.contains("data-totp=\"on\""));
    // Removing it needs a multi-factor sign-in: this session was password only.
    let csrf = page.field("csrf");
    assert_eq!(b.post("/account/totp/remove", &[("csrf", &csrf)]).await.status, 403);
    assert_eq!(b.post("/account/recovery-codes", &[("csrf", &csrf)]).await.status, 403);
    // …and so does adding another factor now that there is one.
    assert_eq!(b.get("/account/totp").await.status, 403);

    // Password change after a recent sign-in; the rules apply (8 now that there is an app).
    let short = b.post("/account/password", &[("csrf", &csrf), ("password", "mèo con"), ("confirm", "mèo con")]).await;
    assert_eq!(short.status, 400);
    let changed = b.post("/account/password", &[("csrf", &csrf), ("password", "ba con mèo tam"), ("confirm", "ba con mèo tam")]).await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    // A stale session may not change it.
    s.server.app.clock.advance(601);
    let stale = b.post("/account/password", &[("csrf", &csrf), ("password", "bốn con mèo tam"), ("confirm", "bốn con mèo tam")]).await;
    assert_eq!(stale.status, 403);

    // With the app: new recovery codes, then removal.
    let strong = s.server.browser();
    let page = account_sign_in(&s, &strong, CHI, "ba con mèo tam", Some(&secret)).await;
    let csrf = page.field("csrf");
    let codes = strong.post("/account/recovery-codes", &[("csrf", &csrf)]).await;
    assert_eq!((codes.status, recovery_codes(&codes).len()), (200, 10));
    assert_eq!(strong.post("/account/totp/remove", &[("csrf", &csrf)]).await.status, 303);
    assert!(strong.get("/account").await.body.contains("data-totp=\"off\""));
    assert_eq!(s.server.app.store.recovery_codes_left(&chi.id).await.unwrap(), 0);

    // The person was told of each change by e-mail and SMS.
    nixa::enrol::notify::run(&s.server.app).await.unwrap();
    let mails = messages_to(&s.messages, chi.email.as_deref().unwrap());
    for what in ["đã thêm một yếu tố xác thực", "mật khẩu đã được thay đổi", "đã gỡ một yếu tố xác thực"]
    {
        assert!(mails.iter().any(|m| m.contains(what)), "{what}: {mails:?}");
    }
}

#[tokio::test]
async fn without_an_app_a_code_by_sms_or_e_mail_is_the_second_factor_up_to_loa_2() {
    let s = setup().await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level2).await;
    let hash = nixa::authn::password::hash(STRONG).unwrap();
    s.server.app.store.set_password_hash(&chi.id, &hash, s.server.app.now()).await.unwrap();
    let phone = chi.phone.clone().unwrap();

    // A portal content with one factor gets one: no code is sent.
    let (code, verifier) = code_for(&s.server, &s.server.browser(), (CHI, STRONG)).await;
    let (_, tokens) = redeem(&s.server, &code, &verifier).await;
    assert_eq!(id_token_claims(&tokens)["acr"], "urn:vn:eid:loa:1");
    assert!(messages_to(&s.messages, &phone).is_empty());

    // A portal that asks for loa:2: the code goes by SMS; amr sms, acr loa:2 even at level 2.
    let b = s.server.browser();
    let (verifier, challenge) = pkce_pair();
    let url = authorize_url(&s.server, DVC, DVC_REDIRECT, &challenge, &[("acr_values", "urn:vn:eid:loa:2")]);
    let page = b.sign_in(&url, (CHI, STRONG)).await;
    assert!(page.body.contains(&format!("•••{}", &phone[phone.len() - 3..])), "the page says where the code went:\n{}", page.body);
    let sent = code_sent_to(&s.messages, &phone).await;
    let wrong = b.submit_totp(&page, "000000").await;
    assert_eq!((wrong.status, wrong.error_key().as_deref()), (401, Some("totp.error.invalid")));
    let mut page = b.submit_totp(&wrong, &sent).await;
    if page.url.contains("/consent?r=") {
        page = b.consent(&page, "approve").await;
    }
    let (status, tokens) = redeem(&s.server, &page.query("code").unwrap(), &verifier).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = id_token_claims(&tokens);
    assert_eq!(claims["acr"], "urn:vn:eid:loa:2");
    assert_eq!(claims["amr"], json!(["pwd", "sms", "mfa"]));

    // The code is single use; a new sign-in sends a new one (the five-try rule is the letters').
    let b = s.server.browser();
    let page = b.sign_in(&url, (CHI, STRONG)).await;
    let used = b.submit_totp(&page, &sent).await;
    assert_eq!((used.status, used.error_key().as_deref()), (401, Some("totp.error.invalid")));
    let fresh = code_sent_to(&s.messages, &phone).await;
    assert_ne!(fresh, sent);
    let page = b.submit_totp(&used, &fresh).await;
    assert!(page.location.is_some() || page.url.contains("/consent"), "{}", page.body);
}

#[tokio::test]
async fn a_locked_account_is_told() {
    let s = setup().await;
    let chi = imported_person(&s.server, CHI, "1998-07-01", AccountLevel::Level1).await;
    let hash = nixa::authn::password::hash(STRONG).unwrap();
    s.server.app.store.set_password_hash(&chi.id, &hash, s.server.app.now()).await.unwrap();
    nixa::enrol::notify::run(&s.server.app).await.unwrap();
    let (_, challenge) = pkce_pair();
    let url = authorize_url(&s.server, DVC, DVC_REDIRECT, &challenge, &[]);
    for _ in 0..5 {
        s.server.browser().sign_in(&url, (CHI, "wrong password here")).await;
    }
    assert_eq!(nixa::enrol::notify::run(&s.server.app).await.unwrap(), 2, "one message by e-mail, one by SMS");
    for to in [chi.email.as_deref().unwrap(), chi.phone.as_deref().unwrap()] {
        let m = messages_to(&s.messages, to);
        assert!(m.iter().any(|m| m.contains("tạm khóa do nhập sai nhiều lần")), "{m:?}");
    }
    // Run again: nothing new, nothing sent twice.
    assert_eq!(nixa::enrol::notify::run(&s.server.app).await.unwrap(), 0);
}
