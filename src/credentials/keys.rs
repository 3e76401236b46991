//! Keys of the QR pipeline: public verification keys (from a JWKS, a COSE key set, or a PEM/DER
//! certificate or public key) indexed strictly by `kid`, and the dedicated credential-signing key.

use std::collections::HashMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use der::{Decode, Encode};
use serde_cbor_2::Value;
use serde_json::json;

use crate::crypto::sha256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    #[error("not a JWKS, COSE key set, certificate or public key: {0}")]
    Unreadable(String),
    #[error("unsupported key: {0}")]
    Unsupported(String),
    #[error("key generation or signing failed")]
    Crypto,
    #[error("{0}")]
    Token(String),
}

/// COSE algorithm identifiers (RFC 9053, RFC 8230).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CoseAlg {
    ES256,
    ES384,
    EdDSA,
    PS256,
    RS256,
}

impl CoseAlg {
    pub fn from_label(l: i128) -> Option<Self> {
        Some(match l {
            -7 => Self::ES256,
            -35 => Self::ES384,
            -8 => Self::EdDSA,
            -37 => Self::PS256,
            -257 => Self::RS256,
            _ => return None,
        })
    }
    pub fn label(self) -> i128 {
        match self {
            Self::ES256 => -7,
            Self::ES384 => -35,
            Self::EdDSA => -8,
            Self::PS256 => -37,
            Self::RS256 => -257,
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ES256" => Self::ES256,
            "ES384" => Self::ES384,
            "EdDSA" | "Ed25519" => Self::EdDSA,
            "PS256" => Self::PS256,
            "RS256" => Self::RS256,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// Uncompressed SEC1 point.
    P256(Vec<u8>),
    P384(Vec<u8>),
    Ed25519(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

impl PublicKey {
    /// Verifies a COSE signature (raw r‖s for ECDSA) over `msg`.
    pub fn verify(&self, alg: CoseAlg, msg: &[u8], sig: &[u8]) -> bool {
        match (self, alg) {
            (PublicKey::P256(p), CoseAlg::ES256) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, p).verify(msg, sig).is_ok(),
            (PublicKey::P384(p), CoseAlg::ES384) => UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, p).verify(msg, sig).is_ok(),
            (PublicKey::Ed25519(p), CoseAlg::EdDSA) => UnparsedPublicKey::new(&signature::ED25519, p).verify(msg, sig).is_ok(),
            (PublicKey::Rsa { n, e }, CoseAlg::PS256) => {
                RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }.verify(&signature::RSA_PSS_2048_8192_SHA256, msg, sig).is_ok()
            }
            (PublicKey::Rsa { n, e }, CoseAlg::RS256) => {
                RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }.verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig).is_ok()
            }
            _ => false,
        }
    }

    fn from_spki(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<Self, KeysError> {
        use crate::pki::sig::{EC_PUBLIC_KEY, P256, P384, RSA_ENCRYPTION};
        const ED25519: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.101.112");
        let bits = spki.subject_public_key.raw_bytes().to_vec();
        match spki.algorithm.oid {
            RSA_ENCRYPTION => {
                let k = pkcs1::RsaPublicKey::from_der(&bits).map_err(|e| KeysError::Unsupported(format!("RSA key: {e}")))?;
                Ok(PublicKey::Rsa { n: k.modulus.as_bytes().to_vec(), e: k.public_exponent.as_bytes().to_vec() })
            }
            EC_PUBLIC_KEY => {
                let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok());
                match curve {
                    Some(P256) => Ok(PublicKey::P256(bits)),
                    Some(P384) => Ok(PublicKey::P384(bits)),
                    _ => Err(KeysError::Unsupported("EC curve".into())),
                }
            }
            ED25519 => Ok(PublicKey::Ed25519(bits)),
            other => Err(KeysError::Unsupported(format!("key algorithm {other}"))),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        let b = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        match self {
            PublicKey::P256(p) => json!({"kty":"EC","crv":"P-256","x":b(&p[1..33]),"y":b(&p[33..65])}),
            PublicKey::P384(p) => json!({"kty":"EC","crv":"P-384","x":b(&p[1..49]),"y":b(&p[49..97])}),
            PublicKey::Ed25519(p) => json!({"kty":"OKP","crv":"Ed25519","x":b(p)}),
            PublicKey::Rsa { n, e } => json!({"kty":"RSA","n":b(n),"e":b(e)}),
        }
    }

    fn cose_key(&self) -> Vec<(Value, Value)> {
        let i = |n: i128| Value::Integer(n);
        let by = |v: &[u8]| Value::Bytes(v.to_vec());
        match self {
            PublicKey::P256(p) => vec![(i(1), i(2)), (i(-1), i(1)), (i(-2), by(&p[1..33])), (i(-3), by(&p[33..65]))],
            PublicKey::P384(p) => vec![(i(1), i(2)), (i(-1), i(2)), (i(-2), by(&p[1..49])), (i(-3), by(&p[49..97]))],
            PublicKey::Ed25519(p) => vec![(i(1), i(1)), (i(-1), i(6)), (i(-2), by(p))],
            PublicKey::Rsa { n, e } => vec![(i(1), i(3)), (i(-1), by(n)), (i(-2), by(e))],
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerifyKey {
    pub kid: Vec<u8>,
    /// When the key set names the algorithm, no other is accepted with it.
    pub alg: Option<CoseAlg>,
    pub key: PublicKey,
    /// Issuer bound to the key, when the key set says so (our own keys do).
    pub issuer: Option<String>,
}

/// Verification keys by `kid`. Lookup is exact: a credential whose `kid` is unknown fails, and
/// no other key is ever tried (EU DCC vectors CO22/CO23 sign validly under a wrong `kid`).
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<Vec<u8>, VerifyKey>,
}

impl KeySet {
    pub fn insert(&mut self, k: VerifyKey) {
        self.keys.insert(k.kid.clone(), k);
    }
    pub fn get(&self, kid: &[u8]) -> Option<&VerifyKey> {
        self.keys.get(kid)
    }
    pub fn len(&self) -> usize {
        self.keys.len()
    }
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
    pub fn extend(&mut self, other: KeySet) {
        self.keys.extend(other.keys);
    }

    /// Reads a key file of any supported form.
    pub fn from_bytes(data: &[u8]) -> Result<KeySet, KeysError> {
        let text = std::str::from_utf8(data).ok().map(str::trim);
        if let Some(t) = text {
            if t.starts_with('{') {
                return Self::from_jwks(t);
            }
            if t.starts_with("-----BEGIN") {
                let (label, der) = pem_decode(t)?;
                return Self::from_der(&der, &label);
            }
        }
        if let Ok(ks) = Self::from_cose_key_set(data) {
            return Ok(ks);
        }
        Self::from_der(data, "")
    }

    fn from_der(der: &[u8], label: &str) -> Result<KeySet, KeysError> {
        let mut ks = KeySet::default();
        if label != "PUBLIC KEY"
            && let Ok(cert) = x509_cert::Certificate::from_der(der)
        {
            // EU DCC: the kid of a certificate is the first 8 bytes of the SHA-256 of its DER.
            let key = PublicKey::from_spki(&cert.tbs_certificate.subject_public_key_info)?;
            ks.insert(VerifyKey { kid: sha256(der)[..8].to_vec(), alg: None, key, issuer: None });
            return Ok(ks);
        }
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(der).map_err(|e| KeysError::Unreadable(e.to_string()))?;
        let key = PublicKey::from_spki(&spki)?;
        ks.insert(VerifyKey { kid: sha256(der)[..8].to_vec(), alg: None, key, issuer: None });
        Ok(ks)
    }

    pub fn from_jwks(text: &str) -> Result<KeySet, KeysError> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| KeysError::Unreadable(e.to_string()))?;
        let list = v.get("keys").and_then(|k| k.as_array()).ok_or_else(|| KeysError::Unreadable("JWKS without keys".into()))?;
        let mut ks = KeySet::default();
        for jwk in list {
            let s = |n: &str| jwk.get(n).and_then(|x| x.as_str());
            let b =
                |n: &str| s(n).and_then(|x| URL_SAFE_NO_PAD.decode(x).ok()).ok_or_else(|| KeysError::Unreadable(format!("JWK member {n}")));
            let key = match (s("kty"), s("crv")) {
                (Some("EC"), Some("P-256")) => PublicKey::P256([vec![4], b("x")?, b("y")?].concat()),
                (Some("EC"), Some("P-384")) => PublicKey::P384([vec![4], b("x")?, b("y")?].concat()),
                (Some("OKP"), Some("Ed25519")) => PublicKey::Ed25519(b("x")?),
                (Some("RSA"), _) => PublicKey::Rsa { n: b("n")?, e: b("e")? },
                _ => continue,
            };
            // A JWK `kid` is text; COSE kids are bytes, carried in JWKS base64url-encoded.
            let Some(kid) = s("kid").and_then(|k| URL_SAFE_NO_PAD.decode(k).ok()) else { continue };
            let alg = s("alg").and_then(CoseAlg::parse);
            let issuer = s("iss").map(str::to_string);
            ks.insert(VerifyKey { kid, alg, key, issuer });
        }
        Ok(ks)
    }

    pub fn from_cose_key_set(data: &[u8]) -> Result<KeySet, KeysError> {
        let v: Value = serde_cbor_2::from_slice(data).map_err(|e| KeysError::Unreadable(e.to_string()))?;
        let Value::Array(items) = v else { return Err(KeysError::Unreadable("COSE_KeySet is not an array".into())) };
        let mut ks = KeySet::default();
        for item in items {
            let Value::Map(m) = item else { return Err(KeysError::Unreadable("COSE_Key is not a map".into())) };
            let g = |l: i128| m.get(&Value::Integer(l));
            let bytes = |l: i128| match g(l) {
                Some(Value::Bytes(b)) => Ok(b.clone()),
                _ => Err(KeysError::Unreadable(format!("COSE_Key label {l}"))),
            };
            let key = match (g(1), g(-1)) {
                (Some(Value::Integer(2)), Some(Value::Integer(1))) => PublicKey::P256([vec![4], bytes(-2)?, bytes(-3)?].concat()),
                (Some(Value::Integer(2)), Some(Value::Integer(2))) => PublicKey::P384([vec![4], bytes(-2)?, bytes(-3)?].concat()),
                (Some(Value::Integer(1)), Some(Value::Integer(6))) => PublicKey::Ed25519(bytes(-2)?),
                (Some(Value::Integer(3)), _) => PublicKey::Rsa { n: bytes(-1)?, e: bytes(-2)? },
                _ => return Err(KeysError::Unsupported("COSE_Key type".into())),
            };
            let alg = match g(3) {
                Some(Value::Integer(a)) => CoseAlg::from_label(*a),
                _ => None,
            };
            ks.insert(VerifyKey { kid: bytes(2)?, alg, key, issuer: None });
        }
        Ok(ks)
    }

    /// The keys as a JWKS document (kid base64url-encoded, `iss` when bound).
    pub fn to_jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .sorted()
            .map(|k| {
                let mut j = k.key.jwk();
                j["kid"] = json!(URL_SAFE_NO_PAD.encode(&k.kid));
                j["use"] = json!("sig");
                if let Some(a) = k.alg {
                    j["alg"] = json!(format!("{a:?}"));
                }
                if let Some(i) = &k.issuer {
                    j["iss"] = json!(i);
                }
                j
            })
            .collect();
        json!({ "keys": keys })
    }

    /// The keys as a COSE_KeySet (RFC 9052 §7).
    pub fn to_cose_key_set(&self) -> Vec<u8> {
        let keys: Vec<Value> = self
            .sorted()
            .map(|k| {
                let mut m: Vec<(Value, Value)> = k.key.cose_key();
                m.push((Value::Integer(2), Value::Bytes(k.kid.clone())));
                if let Some(a) = k.alg {
                    m.push((Value::Integer(3), Value::Integer(a.label())));
                }
                Value::Map(m.into_iter().collect())
            })
            .collect();
        serde_cbor_2::to_vec(&Value::Array(keys)).unwrap_or_default()
    }

    fn sorted(&self) -> impl Iterator<Item = &VerifyKey> {
        let mut v: Vec<_> = self.keys.values().collect();
        v.sort_by(|a, b| a.kid.cmp(&b.kid));
        v.into_iter()
    }
}

fn pem_decode(text: &str) -> Result<(String, Vec<u8>), KeysError> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let label = first.trim().trim_start_matches("-----BEGIN ").trim_end_matches("-----").to_string();
    let body: String = lines.take_while(|l| !l.starts_with("-----END")).map(str::trim).collect();
    let der = STANDARD.decode(body).map_err(|_| KeysError::Unreadable("PEM body is not base64".into()))?;
    Ok((label, der))
}

enum SignerImpl {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    /// ES256 inside a PKCS#11 token: the uncompressed public point beside the handle.
    Token {
        hsm: std::sync::Arc<crate::keys::pkcs11::Hsm>,
        key: cryptoki::object::ObjectHandle,
        point: Vec<u8>,
    },
}

/// The dedicated credential-signing key (never the OIDC token key).
pub struct CredentialSigner {
    pub kid: Vec<u8>,
    pub alg: CoseAlg,
    inner: SignerImpl,
}

impl std::fmt::Debug for CredentialSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CredentialSigner({:?} {})", self.alg, URL_SAFE_NO_PAD.encode(&self.kid))
    }
}

impl CredentialSigner {
    pub fn generate_pkcs8(alg: CoseAlg) -> Result<Vec<u8>, KeysError> {
        let rng = SystemRandom::new();
        match alg {
            CoseAlg::ES256 => Ok(EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| KeysError::Crypto)?
                .as_ref()
                .to_vec()),
            CoseAlg::EdDSA => Ok(Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| KeysError::Crypto)?.as_ref().to_vec()),
            other => Err(KeysError::Unsupported(format!("credential signing with {other:?}"))),
        }
    }

    pub fn from_pkcs8(alg: CoseAlg, pkcs8: &[u8]) -> Result<Self, KeysError> {
        let inner = match alg {
            CoseAlg::ES256 => SignerImpl::Es256(
                EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).map_err(|_| KeysError::Crypto)?,
            ),
            CoseAlg::EdDSA => SignerImpl::Ed25519(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| KeysError::Crypto)?),
            other => return Err(KeysError::Unsupported(format!("credential signing with {other:?}"))),
        };
        Ok(Self::with_kid(alg, inner))
    }

    /// The ES256 key with this `CKA_ID` in a PKCS#11 token (`[keys] backend = "pkcs11"`).
    pub fn in_token(hsm: std::sync::Arc<crate::keys::pkcs11::Hsm>, id: &[u8]) -> Result<Self, KeysError> {
        let (key, public) = hsm.find(id, crate::crypto::Alg::ES256).map_err(|e| KeysError::Token(e.to_string()))?;
        let crate::keys::pkcs11::TokenPublic::Ec(point) = public else {
            return Err(KeysError::Unsupported("the token's credential key is not an EC key".into()));
        };
        Ok(Self::with_kid(CoseAlg::ES256, SignerImpl::Token { hsm, key, point }))
    }

    fn with_kid(alg: CoseAlg, inner: SignerImpl) -> Self {
        let mut s = Self { kid: Vec::new(), alg, inner };
        // The kid is the first 8 bytes of the SHA-256 of the SPKI, the same length as EU DCC kids.
        s.kid = sha256(&s.spki_der())[..8].to_vec();
        s
    }

    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            SignerImpl::Es256(k) => PublicKey::P256(k.public_key().as_ref().to_vec()),
            SignerImpl::Ed25519(k) => PublicKey::Ed25519(k.public_key().as_ref().to_vec()),
            SignerImpl::Token { point, .. } => PublicKey::P256(point.clone()),
        }
    }

    pub fn spki_der(&self) -> Vec<u8> {
        use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
        let (oid, params, bits) = match &self.inner {
            SignerImpl::Es256(k) => {
                (crate::pki::sig::EC_PUBLIC_KEY, der::Any::encode_from(&crate::pki::sig::P256).ok(), k.public_key().as_ref().to_vec())
            }
            SignerImpl::Ed25519(k) => (der::asn1::ObjectIdentifier::new_unwrap("1.3.101.112"), None, k.public_key().as_ref().to_vec()),
            SignerImpl::Token { point, .. } => {
                (crate::pki::sig::EC_PUBLIC_KEY, der::Any::encode_from(&crate::pki::sig::P256).ok(), point.clone())
            }
        };
        let Ok(subject_public_key) = der::asn1::BitString::from_bytes(&bits) else { return Vec::new() };
        let spki = SubjectPublicKeyInfoOwned { algorithm: AlgorithmIdentifierOwned { oid, parameters: params }, subject_public_key };
        spki.to_der().unwrap_or_default()
    }

    pub fn verify_key(&self, issuer: Option<String>) -> VerifyKey {
        VerifyKey { kid: self.kid.clone(), alg: Some(self.alg), key: self.public_key(), issuer }
    }

    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeysError> {
        match &self.inner {
            SignerImpl::Es256(k) => Ok(k.sign(&SystemRandom::new(), msg).map_err(|_| KeysError::Crypto)?.as_ref().to_vec()),
            SignerImpl::Ed25519(k) => Ok(k.sign(msg).as_ref().to_vec()),
            // CKM_ECDSA over the digest gives r ‖ s, COSE's form.
            SignerImpl::Token { hsm, key, .. } => {
                hsm.sign(*key, crate::crypto::Alg::ES256, msg).map_err(|e| KeysError::Token(e.to_string()))
            }
        }
    }
}
