//! Getting in (DESIGN §10): activation, recovery, factor enrolment and the notifications that go
//! with them. So far: the channels that carry messages to people ([`channels`]) and the texts
//! they carry ([`messages`]).

pub mod channels;
pub mod messages;
