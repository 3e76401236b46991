//! The browser side of a sign-in, in one place.
//!
//! A sign-in starts at the authorization endpoint (a portal), at `/device` (a device's user
//! code) or at `/account` (the person's own page): each hands a [`Purpose`] to
//! [`journey::start`]. From then on one policy ([`policy::next`]) decides, after every step,
//! what is still needed: sign in (the methods in `authn`), consent, choose an organisation,
//! confirm a device, answer the optional satisfaction question, or nothing. Every method ends in [`journey::authenticated`]; every page
//! step in [`journey::advance`]; the end by purpose is in [`finish`].
//!
//! ```text
//! journey::start            policy::next    a page: login (authn::*), consent,
//! (oidc::authorize,    ──►  "what next?" ──► organisation, device confirm ──┐
//!  /device, /account)            ▲                                          │
//!                                └── journey::authenticated / advance ◄─────┘
//!                                policy::next = Done ──► finish: code │ device approval │ /account
//! ```
//!
//! Between pages the sign-in is parked in `auth_requests` (`pending`), bound to the browser
//! that started it; its stage is a [`Stage`], its parameters a [`SignIn`].

pub mod consent;
pub mod device;
pub mod finish;
pub mod journey;
pub mod organisation;
pub mod pending;
pub mod policy;
pub mod purpose;
pub mod satisfaction;
pub mod session;
pub mod stage;

pub use pending::Pending;
pub use purpose::{Purpose, SignIn};
pub use stage::Stage;
