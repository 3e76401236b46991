//! Demo data for `serve --demo`: three citizens, an organisation and two portals, with fixed
//! credentials so that a demo can be followed from the README. Never loaded without --demo.

use serde_json::{Value, json};

use crate::authn::{password, totp};
use crate::client::{AuthMethod, ClaimsProfile, Client, ClientId, validate_redirect_uris};
use crate::crypto::token_hash;
use crate::identity::person::parse_date;
use crate::identity::{AccountLevel, Organisation, Person, PersonId, PersonStatus, PersonalId, Sex, TaxCode};
use crate::keys::{Alg, MasterKey};
use crate::protocol::scopes;
use crate::store::{Store, StoreError};

pub struct DemoPerson {
    pub personal_id: &'static str,
    pub password: &'static str,
    pub family: &'static str,
    pub middle: &'static str,
    pub given: &'static str,
    pub birthdate: &'static str,
    pub sex: Sex,
    pub nationality: &'static str,
    pub level: AccountLevel,
    pub totp: bool,
}

pub const PEOPLE: [DemoPerson; 3] = [
    DemoPerson {
        personal_id: "001090001234",
        password: "demo-an-2026",
        family: "Nguyễn",
        middle: "Văn",
        given: "An",
        birthdate: "1990-05-14",
        sex: Sex::Male,
        nationality: "VN",
        level: AccountLevel::Level1,
        totp: false,
    },
    DemoPerson {
        personal_id: "079185005678",
        password: "demo-binh-2026",
        family: "Trần",
        middle: "Thị",
        given: "Bình",
        birthdate: "1985-11-02",
        sex: Sex::Female,
        nationality: "VN",
        level: AccountLevel::Level2,
        totp: true,
    },
    // A foreign resident with a residence card (Decree 69/2024 Art. 7): level 1.
    DemoPerson {
        personal_id: "232080001234",
        password: "demo-yuki-2026",
        family: "Tanaka",
        middle: "",
        given: "Yuki",
        birthdate: "1980-03-20",
        sex: Sex::Male,
        nationality: "JP",
        level: AccountLevel::Level1,
        totp: false,
    },
];

/// A fixed TOTP secret for the level-2 demo citizen (RFC 6238's test seed).
pub const DEMO_TOTP_SECRET: &[u8] = b"12345678901234567890";

pub struct DemoClient {
    pub id: &'static str,
    pub name: &'static str,
    pub secret: Option<&'static str>,
    pub redirect_uri: &'static str,
}

pub const CLIENTS: [DemoClient; 2] = [
    DemoClient {
        id: "demo-dvc",
        name: "Cổng Dịch vụ công (demo)",
        secret: Some("demo-dvc-secret-not-for-production"),
        redirect_uri: "http://localhost:9000/callback",
    },
    DemoClient {
        id: "demo-tinh",
        name: "Cổng thông tin tỉnh (demo, public client)",
        secret: None,
        redirect_uri: "http://localhost:9001/callback",
    },
];

pub const ORG_TAX_CODE: &str = "0312345673";
/// A demo agency; the level-1 person is one of its officials.
pub const AGENCY_CODE: &str = "000.00.00.G99";

#[allow(clippy::expect_used)] // compiled-in demo data: a bad constant fails the first `--demo` start
pub fn demo_client(c: &DemoClient) -> Client {
    let redirect_uris = vec![c.redirect_uri.to_string()];
    let id = ClientId::parse(c.id).expect("demo client ids are valid");
    // The same rule as a registration, so that the console and the API can edit a demo portal.
    let sector =
        crate::oidc::registration::loopback_own_sector(&id, validate_redirect_uris(&redirect_uris).expect("demo redirect URIs are valid"));
    Client {
        id,
        name: c.name.to_string(),
        secret_hash: c.secret.map(token_hash),
        auth_method: if c.secret.is_some() { AuthMethod::ClientSecretBasic } else { AuthMethod::None },
        redirect_uris,
        allowed_scopes: scopes::SUPPORTED.iter().map(|s| s.to_string()).collect(),
        id_token_alg: Alg::ES256,
        sector,
        first_party: false,
        claims_profile: ClaimsProfile::Standard,
        // Where a portal sends people after RP-initiated logout: the origin of its redirect URI.
        options: crate::client::ClientOptions {
            post_logout_redirect_uris: vec![c.redirect_uri.replace("/callback", "/logged-out")],
            ..Default::default()
        },
        disabled: None,
        previous_secret: None,
    }
}

/// Loads (or refreshes) the demo data; returns a summary to print.
#[allow(clippy::expect_used)] // compiled-in demo data: a bad constant fails the first `--demo` start
pub async fn seed(store: &Store, master: &MasterKey, now: i64) -> Result<Value, StoreError> {
    let mut people = Vec::new();
    let mut rep_id = None;
    let mut official_id = None;
    for d in &PEOPLE {
        let person = Person {
            id: PersonId::generate(),
            personal_id: PersonalId::parse(d.personal_id).expect("demo IDs are valid"),
            family_name: d.family.into(),
            middle_name: d.middle.into(),
            given_name: d.given.into(),
            birthdate: parse_date(d.birthdate),
            sex: Some(d.sex),
            nationality: d.nationality.into(),
            address: Some("Số 1 Tràng Tiền, Phường Hoàn Kiếm, Hà Nội".into()),
            phone: Some("+84900000000".into()),
            email: Some(format!("{}@example.vn", d.given.to_lowercase())),
            account_level: d.level,
            status: PersonStatus::Active,
        };
        let id = store.upsert_person(&person, now).await?;
        let hash = tokio::task::spawn_blocking(move || password::hash(d.password))
            .await
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        store.set_password_hash(&id, &hash, now).await?;
        let sealed = match d.totp {
            true => Some(master.seal(&format!("totp:{id}"), DEMO_TOTP_SECRET).map_err(|e| StoreError::Corrupt(e.to_string()))?),
            false => None,
        };
        store.set_totp_secret(&id, sealed.as_deref(), now).await?;
        if d.level == AccountLevel::Level2 {
            rep_id = Some(id.clone());
        } else if d.nationality == "VN" {
            official_id = Some(id.clone());
        }
        let mut entry = json!({
            "personal_id": d.personal_id,
            "password": d.password,
            "name": person.full_name(),
            "account_level": d.level.as_i64(),
            "nationality": d.nationality,
        });
        if d.totp {
            entry["totp_secret_base32"] = json!(totp::base32(DEMO_TOTP_SECRET));
            entry["totp_uri"] = json!(totp::provisioning_uri(DEMO_TOTP_SECRET, d.personal_id, "nixa-demo"));
        }
        people.push(entry);
    }
    let org = Organisation {
        id: uuid::Uuid::new_v4().to_string(),
        code: TaxCode::parse(ORG_TAX_CODE).expect("demo tax code is valid").as_str().to_string(),
        kind: "enterprise".into(),
        name: "Công ty TNHH Dịch vụ số Demo".into(),
        address: Some("Số 2 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh".into()),
    };
    let org_id = store.upsert_organisation(&org, now).await?;
    if let Some(p) = rep_id {
        store.add_representative(&org_id, &p, crate::identity::RepresentativeRole::LegalRepresentative).await?;
    }
    let agency = Organisation {
        id: uuid::Uuid::new_v4().to_string(),
        code: AGENCY_CODE.into(),
        kind: "agency".into(),
        name: "Cơ quan Demo (trung ương)".into(),
        address: Some("Hà Nội".into()),
    };
    let agency_id = store.upsert_organisation(&agency, now).await?;
    if let Some(p) = official_id {
        store.put_official(&p, &agency_id, "Chuyên viên", now).await?;
    }
    let mut clients = Vec::new();
    for c in &CLIENTS {
        store.put_client(&demo_client(c), now).await?;
        clients.push(json!({
            "client_id": c.id,
            "client_secret": c.secret,
            "token_endpoint_auth_method": if c.secret.is_some() { "client_secret_basic" } else { "none" },
            "redirect_uri": c.redirect_uri,
            "name": c.name,
        }));
    }
    let app_client = demo_app_client();
    store.put_client(&app_client, now).await?;
    clients.push(json!({"client_id": app_client.id.as_str(), "token_endpoint_auth_method": "none", "grant_types": app_client.options.grant_types, "name": app_client.name}));
    Ok(json!({
        "people": people,
        "organisation": {"tax_code": org.code, "name": org.name, "legal_representative": PEOPLE[1].personal_id},
        "agency": {"agency_code": AGENCY_CODE, "name": agency.name, "official": PEOPLE[0].personal_id},
        "clients": clients,
    }))
}

/// The demo registration of the national app: a public client allowed only the device grant.
pub fn demo_app_client() -> crate::client::Client {
    use crate::client::{ClientOptions, GRANT_DEVICE_CODE};
    let demo = DemoClient {
        id: crate::authn::app_device::APP_CLIENT_ID,
        name: "Ứng dụng định danh quốc gia (demo)",
        secret: None,
        redirect_uri: "http://localhost:9002/callback",
    };
    let mut client = demo_client(&demo);
    client.options = ClientOptions { grant_types: vec![GRANT_DEVICE_CODE.to_string()], ..Default::default() };
    client
}
