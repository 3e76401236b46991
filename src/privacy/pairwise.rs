//! Subject identifiers (OIDC Core §8). Portals in different sectors receive unrelated `sub`
//! values for the same person, so they cannot join their records on it; first-party portals get
//! the public subject. The personal ID is never a subject.

use crate::client::Client;
use crate::crypto::{b64url, hmac_sha256};
use crate::identity::PersonId;

pub fn subject(pairwise_key: &[u8], client: &Client, person_id: &PersonId) -> String {
    if client.first_party {
        person_id.to_string()
    } else {
        b64url(&hmac_sha256(pairwise_key, &[b"sub", client.sector.as_bytes(), person_id.as_bytes()]))
    }
}
