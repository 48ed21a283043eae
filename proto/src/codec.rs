//! [`KruispuntCodec`]: the codec of every generated client and server (set in `build.rs`),
//! tonic's prost codec except for one thing. A request a server cannot decode is the caller's
//! fault, so it is refused with `INVALID_ARGUMENT` (rule `step2.undecodable_message`), where
//! tonic answers `INTERNAL`. A client that cannot decode an answer keeps tonic's `INTERNAL`:
//! that is the server's fault. Which side decodes a type is known from the contract: `build.rs`
//! writes a [`DecodedOn`] for every method's input (decoded by servers) and output (decoded by
//! clients).

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::refusal_rule::{UNDECODABLE_MESSAGE, with_refusal_rule};

/// Who decodes a message type: a server (a method's input) or a client (its output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodingSide {
    /// The type is a method's request: a server decodes it from a caller.
    Server,
    /// The type is a method's answer: a client decodes it from a server.
    Client,
}

/// The side that decodes a message type (written by `build.rs` from the contract).
pub trait DecodedOn {
    /// Who decodes this type.
    const SIDE: DecodingSide;
}

/// tonic's prost codec, with undecodable requests refused as `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct KruispuntCodec<T, U> {
    _messages: PhantomData<(T, U)>,
}

impl<T, U> Default for KruispuntCodec<T, U> {
    fn default() -> Self {
        Self {
            _messages: PhantomData,
        }
    }
}

impl<T, U> Codec for KruispuntCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + DecodedOn + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RefusingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::raw_encoder(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        RefusingDecoder {
            inner: ProstCodec::<T, U>::raw_decoder(BufferSettings::default()),
        }
    }
}

/// tonic's prost decoder; a request it cannot decode is `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct RefusingDecoder<U> {
    inner: ProstDecoder<U>,
}

impl<U: Message + Default + DecodedOn> Decoder for RefusingDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.inner.decode(buffer).map_err(|status| match U::SIDE {
            // prost's description names the field and the wire type at fault, never a value.
            DecodingSide::Server => with_refusal_rule(
                Status::invalid_argument(format!(
                    "the request is not a valid protobuf encoding of its message: {}",
                    status.message()
                )),
                UNDECODABLE_MESSAGE,
            ),
            DecodingSide::Client => status,
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}
