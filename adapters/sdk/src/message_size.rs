//! [`MessageSizeLimitLayer`]: refuses a request message larger than the server accepts with
//! `RESOURCE_EXHAUSTED` (rule `step2.oversized_message`), as gRPC conventions say, before tonic
//! reads it.
//!
//! tonic checks its own `max_decoding_message_size` in its streaming decoder and answers
//! `OUT_OF_RANGE`, a code that means something else (a position beyond a range), and no codec or
//! interceptor sees that check. This layer reads the 5-byte gRPC frame headers as the request
//! body streams through and fails the body at the first header declaring more than the limit,
//! without buffering anything; tonic's decoder then answers with this layer's status. Servers
//! keep tonic's own limit at the same value as a backstop; it is never reached first.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use tonic::Status;
use tonic::codegen::Bytes;
use tower::{Layer, Service};

use kruispunt_proto::refusal_rule::{OVERSIZED_MESSAGE, with_refusal_rule};

/// The length of a gRPC message frame header: a compression flag and a big-endian `u32` length.
const FRAME_HEADER_BYTES: usize = 5;

/// A tower layer refusing request messages over `max_message_bytes` with `RESOURCE_EXHAUSTED`.
#[derive(Debug, Clone, Copy)]
pub struct MessageSizeLimitLayer {
    max_message_bytes: usize,
}

impl MessageSizeLimitLayer {
    /// Refuses request messages longer than `max_message_bytes` (after the frame header).
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> Layer<S> for MessageSizeLimitLayer {
    type Service = MessageSizeLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessageSizeLimit {
            inner,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// The service made by [`MessageSizeLimitLayer`].
#[derive(Debug, Clone)]
pub struct MessageSizeLimit<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S, RequestBody> Service<http::Request<RequestBody>> for MessageSizeLimit<S>
where
    S: Service<http::Request<tonic::body::Body>>,
    RequestBody: Body<Data = Bytes> + Unpin + Send + 'static,
    RequestBody::Error: Into<tonic::codegen::StdError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, context: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(context)
    }

    fn call(&mut self, request: http::Request<RequestBody>) -> Self::Future {
        let max_message_bytes = self.max_message_bytes;
        self.inner.call(request.map(|body| {
            tonic::body::Body::new(SizeLimitedBody {
                inner: body,
                frames: FrameScanner::new(max_message_bytes),
            })
        }))
    }
}

/// A request body that fails at the first gRPC frame header over the limit.
struct SizeLimitedBody<B> {
    inner: B,
    frames: FrameScanner,
}

impl<B> Body for SizeLimitedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Data = Bytes;
    type Error = tonic::codegen::StdError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(context) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && let Err(status) = this.frames.scan(data)
                {
                    return Poll::Ready(Some(Err(Box::new(status))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Follows gRPC message framing across data chunks: reads each 5-byte header, skips the
/// message it announces.
#[derive(Debug)]
struct FrameScanner {
    max_message_bytes: usize,
    header: [u8; FRAME_HEADER_BYTES],
    header_bytes_read: usize,
    message_bytes_left: usize,
}

impl FrameScanner {
    fn new(max_message_bytes: usize) -> Self {
        Self {
            max_message_bytes,
            header: [0; FRAME_HEADER_BYTES],
            header_bytes_read: 0,
            message_bytes_left: 0,
        }
    }

    /// Scans the next chunk of the body; `Err` once a header announces an oversized message.
    fn scan(&mut self, mut chunk: &[u8]) -> Result<(), Status> {
        while !chunk.is_empty() {
            if self.message_bytes_left > 0 {
                let skipped = self.message_bytes_left.min(chunk.len());
                self.message_bytes_left -= skipped;
                chunk = &chunk[skipped..];
                continue;
            }
            let wanted = FRAME_HEADER_BYTES - self.header_bytes_read;
            let taken = wanted.min(chunk.len());
            self.header[self.header_bytes_read..self.header_bytes_read + taken]
                .copy_from_slice(&chunk[..taken]);
            self.header_bytes_read += taken;
            chunk = &chunk[taken..];
            if self.header_bytes_read == FRAME_HEADER_BYTES {
                self.header_bytes_read = 0;
                let length = u32::from_be_bytes([
                    self.header[1],
                    self.header[2],
                    self.header[3],
                    self.header[4],
                ]);
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                if length > self.max_message_bytes {
                    return Err(with_refusal_rule(
                        Status::resource_exhausted(format!(
                            "the request message is {length} bytes, more than the {} bytes this server accepts",
                            self.max_message_bytes
                        )),
                        OVERSIZED_MESSAGE,
                    ));
                }
                self.message_bytes_left = length;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(length: u32) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&length.to_be_bytes());
        bytes.extend(std::iter::repeat_n(7u8, length as usize));
        bytes
    }

    #[test]
    fn messages_within_the_limit_pass_whatever_the_chunking() {
        let body: Vec<u8> = [frame(10), frame(0), frame(10)].concat();
        for chunk_size in 1..body.len() {
            let mut scanner = FrameScanner::new(10);
            for chunk in body.chunks(chunk_size) {
                assert!(scanner.scan(chunk).is_ok(), "chunks of {chunk_size}");
            }
        }
    }

    #[test]
    fn a_header_over_the_limit_is_refused_even_split_across_chunks() {
        let body: Vec<u8> = [frame(3), frame(11)].concat();
        for chunk_size in 1..body.len() {
            let mut scanner = FrameScanner::new(10);
            let refused = body
                .chunks(chunk_size)
                .map(|chunk| scanner.scan(chunk))
                .find_map(Result::err)
                .expect("the second message is over the limit");
            assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
            assert_eq!(
                kruispunt_proto::refusal_rule::refusal_rule_of(&refused),
                Some(OVERSIZED_MESSAGE)
            );
        }
    }
}
