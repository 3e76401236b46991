//! Signing keys kept in a PKCS#11 token (a hardware security module; SoftHSM in the tests):
//! generated inside it, sensitive and never extractable. This server holds handles and asks the
//! token to sign. The database row of such a key holds, sealed with the master key like a
//! software key, a reference (`pkcs11:` + the key's `CKA_ID`) where a software key holds its
//! PKCS#8; the public key is read back from the token and must match the row's `kid`.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use serde::{Deserialize, Serialize};

use crate::crypto::Alg;

/// `[keys]` in nixa.toml: where private signing keys are made and kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// `software` (sealed with the master key in the database) or `pkcs11`.
    pub backend: String,
    /// The PKCS#11 module: the HSM vendor's library, `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: Option<PathBuf>,
    /// The token, by its label …
    pub token_label: Option<String>,
    /// … or by its slot id.
    pub slot: Option<u64>,
    /// A file holding the token user's PIN (readable by nixa only).
    pub pin_file: Option<PathBuf>,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self { backend: "software".into(), module: None, token_label: None, slot: None, pin_file: None }
    }
}

impl KeysConfig {
    pub fn uses_token(&self) -> bool {
        self.backend == "pkcs11"
    }

    pub fn validate(&self) -> Result<(), String> {
        match self.backend.as_str() {
            "software" => Ok(()),
            "pkcs11" if self.module.is_none() => Err("keys.module is required with backend = \"pkcs11\"".into()),
            "pkcs11" if self.token_label.is_none() && self.slot.is_none() => Err("keys.token_label or keys.slot names the token".into()),
            "pkcs11" if self.pin_file.is_none() => Err("keys.pin_file is required with backend = \"pkcs11\"".into()),
            "pkcs11" => Ok(()),
            other => Err(format!("keys.backend {other:?} is not software or pkcs11")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    /// The token's own words (cryptoki's message names the function and the CKR_ code).
    #[error("PKCS#11: {0}")]
    Token(String),
    #[error("PKCS#11 configuration: {0}")]
    Config(String),
    #[error("the PKCS#11 token holds no key {0}")]
    Missing(String),
    #[error("the PKCS#11 token's key {0} is not the one the database names")]
    Mismatch(String),
}

impl From<Pkcs11Error> for HsmError {
    fn from(e: Pkcs11Error) -> Self {
        HsmError::Token(e.to_string())
    }
}

/// What a row holds instead of a private key.
pub const REFERENCE_PREFIX: &[u8] = b"pkcs11:";

/// What the database keeps (sealed) for a key in the token: `pkcs11:` and its `CKA_ID`.
pub fn reference(id: &[u8]) -> Vec<u8> {
    let mut kept = REFERENCE_PREFIX.to_vec();
    kept.extend(crate::crypto::b64url(id).into_bytes());
    kept
}

/// The `CKA_ID` that a kept value names, when it is a reference (a software key's PKCS#8 is
/// not): `Some(None)` for a malformed reference.
pub fn referenced_id(kept: &[u8]) -> Option<Option<Vec<u8>>> {
    let id = kept.strip_prefix(REFERENCE_PREFIX)?;
    Some(std::str::from_utf8(id).ok().and_then(crate::crypto::b64url_decode))
}

/// A wrapped master key: `nixa-wrapped-master-v1.<key id>.<iv>.<ciphertext and tag>`.
const WRAPPED_MASTER_PREFIX: &str = "nixa-wrapped-master-v1";
/// Binds the ciphertext to its use: the wrapping key decrypts nothing else as a master key.
const WRAPPED_MASTER_AAD: &[u8] = b"nixa master key";
const WRAPPING_KEY_LABEL: &str = "nixa master-key wrapping";
const GCM_TAG_BITS: u64 = 128;

/// The DER of the P-256 curve's OID, the `CKA_EC_PARAMS` of an ES256 key.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// A public key as read from the token.
#[derive(Debug, Clone)]
pub enum TokenPublic {
    /// Uncompressed SEC1 point, `04 ‖ x ‖ y`.
    Ec(Vec<u8>),
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
}

/// An open, logged-in session with the token. One session, used in turn: PKCS#11 sessions
/// must not be used from two threads at once, and a signature takes the token microseconds
/// (SoftHSM) to a few milliseconds (a network HSM).
pub struct Hsm {
    session: Mutex<Session>,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hsm")
    }
}

impl Hsm {
    pub fn open(cfg: &KeysConfig) -> Result<Self, HsmError> {
        cfg.validate().map_err(HsmError::Config)?;
        let (Some(module), Some(pin_file)) = (&cfg.module, &cfg.pin_file) else {
            return Err(HsmError::Config("module and pin_file".into()));
        };
        let ctx = Pkcs11::new(module)?;
        // Several key rings in one process (tests, the CLI) share the library's one state.
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(e.into()),
        }
        let mut chosen = None;
        for slot in ctx.get_slots_with_token()? {
            let matches = match (cfg.slot, &cfg.token_label) {
                (Some(id), _) => slot.id() == id,
                (None, Some(label)) => ctx.get_token_info(slot).is_ok_and(|t| t.label() == label.as_str()),
                (None, None) => false,
            };
            if matches {
                chosen = Some(slot);
                break;
            }
        }
        let slot = chosen.ok_or_else(|| HsmError::Config(format!("no token {:?} (slot {:?})", cfg.token_label, cfg.slot)))?;
        let pin = std::fs::read_to_string(pin_file).map_err(|e| HsmError::Config(format!("keys.pin_file {}: {e}", pin_file.display())))?;
        let session = ctx.open_rw_session(slot)?;
        match session.login(UserType::User, Some(&AuthPin::from(pin.trim_end_matches(['\r', '\n']).to_string()))) {
            Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(Self { session: Mutex::new(session) })
    }

    fn session(&self) -> MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new key pair inside the token, labelled for what it signs: the private half sensitive,
    /// never extractable, for signing only. Returns its `CKA_ID` and public key.
    pub fn generate(&self, alg: Alg, purpose: &str) -> Result<(Vec<u8>, TokenPublic), HsmError> {
        let id = crate::crypto::random_bytes::<16>().to_vec();
        let label = format!("nixa {purpose} {alg}").into_bytes();
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Id(id.clone()),
            Attribute::Label(label.clone()),
        ];
        let mut public = vec![Attribute::Token(true), Attribute::Verify(true), Attribute::Id(id.clone()), Attribute::Label(label)];
        let mechanism = match alg {
            Alg::ES256 => {
                public.push(Attribute::EcParams(P256_PARAMS.to_vec()));
                Mechanism::EccKeyPairGen
            }
            Alg::RS256 => {
                public.extend([Attribute::ModulusBits(2048.into()), Attribute::PublicExponent(vec![1, 0, 1])]);
                Mechanism::RsaPkcsKeyPairGen
            }
        };
        let session = self.session();
        let (public_handle, _) = session.generate_key_pair(&mechanism, &public, &private)?;
        let key = read_public(&session, public_handle, alg)?;
        Ok((id, key))
    }

    /// The private key with this `CKA_ID` and its public key.
    pub fn find(&self, id: &[u8], alg: Alg) -> Result<(ObjectHandle, TokenPublic), HsmError> {
        let session = self.session();
        let find = |class| session.find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())]);
        let missing = || HsmError::Missing(crate::crypto::b64url(id));
        let private = find(ObjectClass::PRIVATE_KEY)?.into_iter().next().ok_or_else(missing)?;
        let public = find(ObjectClass::PUBLIC_KEY)?.into_iter().next().ok_or_else(missing)?;
        Ok((private, read_public(&session, public, alg)?))
    }

    /// Destroys both halves of the key pair with this `CKA_ID` (a candidate another node's key
    /// won over).
    pub fn destroy(&self, id: &[u8]) -> Result<(), HsmError> {
        let session = self.session();
        for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
            for object in session.find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])? {
                session.destroy_object(object)?;
            }
        }
        Ok(())
    }

    /// Encrypts the master key's text under the token's wrapping key (AES-256-GCM inside the
    /// token; the key is made on first use, sensitive and never extractable): the contents of a
    /// `master_key_wrapped_file`, useless without this token and its PIN.
    pub fn wrap_master(&self, master_text: &[u8]) -> Result<String, HsmError> {
        let (id, key) = self.wrapping_key()?;
        let mut iv = crate::crypto::random_bytes::<12>();
        let session = self.session();
        let params = GcmParams::new(&mut iv, WRAPPED_MASTER_AAD, GCM_TAG_BITS.into()).map_err(HsmError::from)?;
        let sealed = session.encrypt(&Mechanism::AesGcm(params), key, master_text)?;
        let b = crate::crypto::b64url;
        Ok(format!("{WRAPPED_MASTER_PREFIX}.{}.{}.{}\n", b(&id), b(&iv), b(&sealed)))
    }

    /// The master key's text from a `master_key_wrapped_file`, decrypted inside the token.
    pub fn unwrap_master(&self, wrapped: &str) -> Result<Vec<u8>, HsmError> {
        let unreadable = || HsmError::Config("master_key_wrapped_file is not a wrapped master key (nixa keys wrap-master)".into());
        let mut parts = wrapped.trim().split('.');
        if parts.next() != Some(WRAPPED_MASTER_PREFIX) {
            return Err(unreadable());
        }
        let mut field = || parts.next().and_then(crate::crypto::b64url_decode).ok_or_else(unreadable);
        let (id, iv, sealed) = (field()?, field()?, field()?);
        let mut iv: [u8; 12] = iv.try_into().map_err(|_| unreadable())?;
        let session = self.session();
        let key = session
            .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Id(id.clone())])?
            .into_iter()
            .next()
            .ok_or_else(|| HsmError::Missing(crate::crypto::b64url(&id)))?;
        let params = GcmParams::new(&mut iv, WRAPPED_MASTER_AAD, GCM_TAG_BITS.into()).map_err(HsmError::from)?;
        Ok(session.decrypt(&Mechanism::AesGcm(params), key, &sealed)?)
    }

    /// The token's master-key wrapping key, made on first use: its `CKA_ID` and handle.
    fn wrapping_key(&self) -> Result<(Vec<u8>, ObjectHandle), HsmError> {
        let session = self.session();
        let label = WRAPPING_KEY_LABEL.as_bytes().to_vec();
        let found = session.find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY), Attribute::Label(label.clone())])?;
        if let Some(key) = found.into_iter().next() {
            let attrs = session.get_attributes(key, &[AttributeType::Id])?;
            let Some(Attribute::Id(id)) = attrs.into_iter().next() else {
                return Err(HsmError::Config("the wrapping key has no CKA_ID".into()));
            };
            return Ok((id, key));
        }
        let id = crate::crypto::random_bytes::<16>().to_vec();
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::AES),
            Attribute::ValueLen(32.into()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Encrypt(true),
            Attribute::Decrypt(true),
            Attribute::Id(id.clone()),
            Attribute::Label(label),
        ];
        let key = session.generate_key(&Mechanism::AesKeyGen, &template)?;
        Ok((id, key))
    }

    /// A JWS signature: ES256 as `r ‖ s` over the SHA-256 of `msg`, RS256 as PKCS#1 v1.5.
    pub fn sign(&self, key: ObjectHandle, alg: Alg, msg: &[u8]) -> Result<Vec<u8>, HsmError> {
        let session = self.session();
        Ok(match alg {
            Alg::ES256 => session.sign(&Mechanism::Ecdsa, key, &crate::crypto::sha256(msg))?,
            Alg::RS256 => session.sign(&Mechanism::Sha256RsaPkcs, key, msg)?,
        })
    }
}

fn read_public(session: &Session, handle: ObjectHandle, alg: Alg) -> Result<TokenPublic, HsmError> {
    let bad = || HsmError::Config("the token returned an unreadable public key".into());
    match alg {
        Alg::ES256 => {
            let attrs = session.get_attributes(handle, &[AttributeType::EcPoint])?;
            let Some(Attribute::EcPoint(point)) = attrs.into_iter().next() else { return Err(bad()) };
            // PKCS#11 wraps the point in a DER OCTET STRING; some tokens give it bare.
            let point = match point.as_slice() {
                [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest.to_vec(),
                bare if bare.len() == 65 && bare[0] == 0x04 => bare.to_vec(),
                _ => return Err(bad()),
            };
            Ok(TokenPublic::Ec(point))
        }
        Alg::RS256 => {
            let attrs = session.get_attributes(handle, &[AttributeType::Modulus, AttributeType::PublicExponent])?;
            let (mut n, mut e) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Modulus(v) => n = Some(v),
                    Attribute::PublicExponent(v) => e = Some(v),
                    _ => {}
                }
            }
            let strip = |v: Vec<u8>| v.iter().position(|b| *b != 0).map(|i| v[i..].to_vec()).unwrap_or_default();
            Ok(TokenPublic::Rsa { n: strip(n.ok_or_else(bad)?), e: strip(e.ok_or_else(bad)?) })
        }
    }
}
