//! The tokio codecs: `FrameDecoder` fed its input split at every offset (and
//! every pair of offsets), its caps and its end of input, the framing
//! changed between items (pipelining), a proptest round trip; the
//! `ChunkedEncoder` and `CompressedEncoder` through `FramedWrite`, decoded
//! by the crate's decoders and by flate2.
#![cfg(feature = "tokio")]

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use producers::codec::chunked::{ChunkedDecoder, Decoded};
use producers::consume::{FrameError, Framing, Terminator};
use producers::tokio::codec::{ChunkedEncoder, DecodeError, FrameDecoder, LastChunk};
use proptest::prelude::*;
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Decoder, FramedRead, FramedWrite};

/// Called after each item: may change the framing (Medusa's
/// `set_terminator` between two frames).
type Switch<'a> = &'a mut dyn FnMut(&Bytes, &mut FrameDecoder);

/// A switch made afresh for each run.
type BoxedSwitch = Box<dyn FnMut(&Bytes, &mut FrameDecoder)>;

/// A chunked message decoded: data, trailers, bytes after its end.
type Dechunked = (Vec<u8>, Vec<(String, Vec<u8>)>, usize);

/// Drives `codec` as `Framed` does: the input arrives in the pieces cut at
/// `cuts`; `decode` until `None` after each piece, `decode_eof` until
/// `None` at the end. Returns the items and the error that stopped it.
fn run(
    mut codec: FrameDecoder,
    input: &[u8],
    cuts: &[usize],
    switch: Switch<'_>,
) -> (Vec<Bytes>, Option<DecodeError>) {
    let mut items = Vec::new();
    let mut buf = BytesMut::new();
    let mut bounds = vec![0];
    bounds.extend(cuts.iter().copied().filter(|&c| c <= input.len()));
    bounds.push(input.len());
    for w in bounds.windows(2) {
        buf.extend_from_slice(&input[w[0]..w[1].max(w[0])]);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(item)) => {
                    switch(&item, &mut codec);
                    items.push(item);
                }
                Ok(None) => break,
                Err(e) => return (items, Some(e)),
            }
        }
    }
    loop {
        match codec.decode_eof(&mut buf) {
            Ok(Some(item)) => {
                switch(&item, &mut codec);
                items.push(item);
            }
            Ok(None) => return (items, None),
            Err(e) => return (items, Some(e)),
        }
    }
}

fn no_switch() -> impl FnMut(&Bytes, &mut FrameDecoder) {
    |_, _| {}
}

/// Every single cut and every pair of cuts give `expected` and `error`.
#[track_caller]
fn split_everywhere(
    make: &dyn Fn() -> FrameDecoder,
    make_switch: &dyn Fn() -> BoxedSwitch,
    input: &[u8],
    expected: &[&[u8]],
    error: Option<FrameError>,
) {
    let check = |cuts: &[usize]| {
        let mut switch = make_switch();
        let (items, err) = run(make(), input, cuts, &mut *switch);
        let items: Vec<&[u8]> = items.iter().map(|b| &b[..]).collect();
        assert_eq!(items, expected, "cuts {cuts:?}");
        let err = err.map(|e| match e {
            DecodeError::Frame(f) => f,
            other => panic!("{other}"),
        });
        assert_eq!(err, error, "cuts {cuts:?}");
    };
    check(&[]);
    for i in 0..=input.len() {
        check(&[i]);
        for j in i..=input.len() {
            check(&[i, j]);
        }
    }
}

#[test]
fn lines_with_crlf_and_lf_split_everywhere() {
    // `\r\n` and `\n` both end a line; one `\r` before the `\n` is dropped.
    split_everywhere(
        &|| FrameDecoder::lines(64),
        &|| Box::new(no_switch()),
        b"one\r\ntwo\n\nthree\r\nx\r\r\n\r\n",
        &[b"one", b"two", b"", b"three", b"x\r", b""],
        None,
    );
}

#[test]
fn a_multi_byte_delimiter_split_everywhere() {
    split_everywhere(
        &|| FrameDecoder::delimited("\r\n.\r\n", 100),
        &|| Box::new(no_switch()),
        b"a\r\n.\r\nb\r\nc.\r\n\r\n.\r\n\r\n.\r\n",
        &[b"a", b"b\r\nc.\r\n", b""],
        None,
    );
}

#[test]
fn counts_re_armed_after_each_frame_split_everywhere() {
    // Fixed 3-byte records: the count is set again after each one. The end
    // inside the third record is an error with its offset.
    split_everywhere(
        &|| FrameDecoder::count(3),
        &|| Box::new(|_: &Bytes, c: &mut FrameDecoder| c.set_terminator(Terminator::Count(3))),
        b"abcdefgh",
        &[b"abc", b"def"],
        Some(FrameError::UnexpectedEnd {
            partial: 2,
            offset: 6,
        }),
    );
}

/// The switch of a line protocol announcing bodies: `LEN n` is followed by
/// an n-byte body, then lines again.
fn len_switch() -> BoxedSwitch {
    let mut in_body = false;
    Box::new(move |item: &Bytes, c: &mut FrameDecoder| {
        if in_body {
            c.set_lines(64);
            in_body = false;
        } else if let Some(n) = item.strip_prefix(b"LEN ") {
            let n: u64 = std::str::from_utf8(n).unwrap().parse().unwrap();
            c.set_framing(Framing::whole(n).max(1 << 20));
            in_body = true;
        }
    })
}

#[test]
fn lines_then_count_then_lines_pipelined_split_everywhere() {
    split_everywhere(
        &|| FrameDecoder::lines(64),
        &len_switch,
        b"LEN 5\r\nhe\nloQUIT\nLEN 0\r\nNEXT\nLEN 2\n\r\n",
        &[
            b"LEN 5", b"he\nlo", b"QUIT", b"LEN 0", b"", b"NEXT", b"LEN 2", b"\r\n",
        ],
        None,
    );
}

#[test]
fn a_line_over_the_cap_is_an_error_with_its_offset() {
    // 10 bytes is the cap: a 10-byte line passes, an 11-byte one fails, and
    // the `\r` of a `\r\n` counts (as in LinesCodec).
    split_everywhere(
        &|| FrameDecoder::lines(10),
        &|| Box::new(no_switch()),
        b"ok\n0123456789\n0123456789a\nnever\n",
        &[b"ok", b"0123456789"],
        Some(FrameError::FrameTooLong {
            limit: 10,
            offset: 14,
        }),
    );
    let (items, err) = run(
        FrameDecoder::lines(10),
        b"0123456789\r\n",
        &[],
        &mut no_switch(),
    );
    assert!(items.is_empty());
    let err = err.expect("the \\r counts");
    assert_eq!(err.offset(), Some(0));
    assert_eq!(
        std::io::Error::from(err).kind(),
        std::io::ErrorKind::InvalidData
    );
    // Known without the line's end: as soon as the cap plus one byte is in.
    let mut codec = FrameDecoder::lines(10);
    let mut buf = BytesMut::from(&b"0123456789a"[..]);
    assert!(matches!(
        codec.decode(&mut buf),
        Err(DecodeError::Frame(FrameError::FrameTooLong {
            limit: 10,
            offset: 0
        }))
    ));
}

#[test]
fn a_truncated_last_line_is_an_error_not_a_clean_end() {
    split_everywhere(
        &|| FrameDecoder::lines(64),
        &|| Box::new(no_switch()),
        b"a\nbc\r",
        &[b"a"],
        Some(FrameError::UnexpectedEnd {
            partial: 3,
            offset: 2,
        }),
    );
    let (items, err) = run(FrameDecoder::lines(64), b"", &[], &mut no_switch());
    assert!(
        items.is_empty() && err.is_none(),
        "empty input ends cleanly"
    );
    let err = run(FrameDecoder::lines(64), b"x", &[], &mut no_switch()).1;
    assert_eq!(
        std::io::Error::from(err.unwrap()).kind(),
        std::io::ErrorKind::UnexpectedEof
    );
    // Until close: the close ends the frame.
    split_everywhere(
        &|| FrameDecoder::new(Framing::whole(Terminator::UntilClose).max(100)),
        &|| Box::new(no_switch()),
        b"all of\nit",
        &[b"all of\nit"],
        None,
    );
}

#[test]
fn pieces_mark_the_end_of_each_frame() {
    let mut codec = FrameDecoder::new(Framing::pieces("\n"));
    let mut buf = BytesMut::from(&b"abc"[..]);
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "abc");
    assert!(!codec.frame_complete());
    buf.extend_from_slice(b"d\nx");
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "d");
    assert!(codec.frame_complete());
    assert_eq!(codec.decode(&mut buf).unwrap().unwrap(), "x");
    assert!(!codec.frame_complete());
    assert!(
        codec.decode_eof(&mut buf).is_err(),
        "the end inside a frame"
    );
}

/// A `FramedRead` over the read half of a duplex pipe, the input written
/// in `pieces` with a yield between them: the codec as tokio drives it,
/// with the framing changed through `decoder_mut` between items.
#[tokio::test]
async fn framed_read_over_a_pipe_with_the_framing_changed_between_items() {
    let input = b"LEN 5\r\nhe\nloQUIT\nLEN 3\nabcBYE\n".to_vec();
    for step in [1, 2, 3, 7, 100] {
        let (mut w, r) = tokio::io::duplex(4);
        let data = input.clone();
        let writer = tokio::spawn(async move {
            for piece in data.chunks(step) {
                w.write_all(piece).await.unwrap();
                tokio::task::yield_now().await;
            }
        });
        let mut framed = FramedRead::new(r, FrameDecoder::lines(64));
        let mut switch = len_switch();
        let mut items = Vec::new();
        while let Some(item) = framed.next().await {
            let item = item.unwrap();
            switch(&item, framed.decoder_mut());
            items.push(item);
        }
        writer.await.unwrap();
        assert_eq!(
            items,
            ["LEN 5", "he\nlo", "QUIT", "LEN 3", "abc", "BYE"],
            "step {step}"
        );
    }
}

#[tokio::test]
async fn framed_read_ends_with_the_error_of_a_truncated_line() {
    let mut framed = FramedRead::new(&b"one\ntw"[..], FrameDecoder::lines(64));
    assert_eq!(framed.next().await.unwrap().unwrap(), "one");
    let err = framed.next().await.unwrap().unwrap_err();
    assert!(matches!(
        err,
        DecodeError::Frame(FrameError::UnexpectedEnd {
            partial: 2,
            offset: 4
        })
    ));
    assert!(framed.next().await.is_none());
}

proptest! {
    #[test]
    fn lines_round_trip_whatever_the_reads(
        lines in proptest::collection::vec(
            proptest::collection::vec(any::<u8>().prop_filter("no LF", |&b| b != b'\n'), 0..40)
                .prop_filter("no trailing CR", |l| l.last() != Some(&b'\r')),
            0..20,
        ),
        crlf in proptest::collection::vec(any::<bool>(), 20),
        mut cuts in proptest::collection::vec(0usize..1000, 0..6),
    ) {
        let mut input = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            input.extend_from_slice(l);
            input.extend_from_slice(if crlf[i] { b"\r\n" } else { b"\n" });
        }
        cuts.sort();
        let (items, err) = run(FrameDecoder::lines(64), &input, &cuts, &mut no_switch());
        prop_assert!(err.is_none(), "{err:?}");
        let items: Vec<Vec<u8>> = items.iter().map(|b| b.to_vec()).collect();
        prop_assert_eq!(items, lines);
    }
}

// The encoders.

/// Decodes a chunked message with the crate's decoder, fed one byte at a
/// time; returns the data, the trailers and the bytes after the end.
fn dechunk(wire: &[u8]) -> Dechunked {
    let mut d = ChunkedDecoder::new();
    let mut data = Vec::new();
    let mut buf = BytesMut::new();
    for (i, &b) in wire.iter().enumerate() {
        buf.extend_from_slice(&[b]);
        loop {
            match d.decode(&mut buf).unwrap() {
                Decoded::Data(piece) => data.extend_from_slice(&piece),
                Decoded::NeedMore => break,
                Decoded::End => {
                    let trailers = d
                        .trailers()
                        .iter()
                        .map(|t| (t.name.to_string(), t.value.to_vec()))
                        .collect();
                    return (data, trailers, wire.len() - i - 1 + buf.len());
                }
            }
        }
    }
    panic!("the chunked message did not end: {:?}", d.finish());
}

#[tokio::test]
async fn chunked_encoder_round_trip_through_framed_write() {
    let mut w = FramedWrite::new(Vec::new(), ChunkedEncoder::new());
    w.send(Bytes::from("hello ")).await.unwrap();
    // An empty item writes nothing: no premature last-chunk.
    w.send(Bytes::new()).await.unwrap();
    w.send(&b""[..]).await.unwrap();
    assert_eq!(w.get_ref().as_slice(), b"6\r\nhello \r\n");
    let big = vec![b'z'; 0x1ab];
    w.send(&big[..]).await.unwrap();
    w.send(LastChunk::new().trailer("Digest", "x=1").unwrap())
        .await
        .unwrap();
    let wire = w.get_ref().clone();
    let expected = [
        &b"6\r\nhello \r\n1ab\r\n"[..],
        &big,
        b"\r\n0\r\nDigest: x=1\r\n\r\n",
    ]
    .concat();
    assert_eq!(wire, expected);
    let (data, trailers, rest) = dechunk(&wire);
    assert_eq!(data, [&b"hello "[..], &big].concat());
    assert_eq!(trailers, [("Digest".to_string(), b"x=1".to_vec())]);
    assert_eq!(rest, 0);

    // After the last-chunk, data is refused until a reset.
    let err = w.send(Bytes::from("late")).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    w.encoder_mut().reset();
    w.send(Bytes::from("next")).await.unwrap();
    w.send(LastChunk::new()).await.unwrap();
    assert!(w.get_ref().ends_with(b"4\r\nnext\r\n0\r\n\r\n"));
}

#[test]
fn chunked_encoder_extensions_and_every_size() {
    let mut enc = ChunkedEncoder::new().extension("sig", "a b").unwrap();
    let mut out = BytesMut::new();
    let mut data = Vec::new();
    for n in [1usize, 15, 16, 255, 256, 4096, 70_000] {
        let item = vec![(n % 251) as u8; n];
        tokio_util::codec::Encoder::encode(&mut enc, &item[..], &mut out).unwrap();
        data.extend_from_slice(&item);
    }
    tokio_util::codec::Encoder::encode(
        &mut enc,
        LastChunk::new().extension_name("done").unwrap(),
        &mut out,
    )
    .unwrap();
    assert!(out.starts_with(b"1;sig=\"a b\"\r\n"));
    assert!(out.ends_with(b"\r\n0;done\r\n\r\n"));
    assert_eq!(dechunk(&out).0, data);
    assert!(LastChunk::new().trailer("bad name", "x").is_err());
    assert!(ChunkedEncoder::new().extension("ok", "bad\r").is_err());
}

#[cfg(feature = "gzip")]
mod compressed {
    use super::*;
    use producers::codec::gzip::{Decompressor, Format};
    use producers::tokio::codec::{CompressedEncoder, Finish};
    use producers::{ProducerExt, from_bytes};
    use std::io::Read;

    fn flate2_decode(format: Format, wire: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match format {
            Format::Gzip => flate2::read::GzDecoder::new(wire).read_to_end(&mut out),
            Format::Zlib => flate2::read::ZlibDecoder::new(wire).read_to_end(&mut out),
            Format::Deflate => flate2::read::DeflateDecoder::new(wire).read_to_end(&mut out),
        }
        .unwrap();
        out
    }

    fn crate_decode(format: Format, wire: Vec<u8>) -> Vec<u8> {
        let p = from_bytes(wire);
        match format {
            Format::Gzip => p.gunzip().collect_bytes(),
            Format::Zlib => p.unzlib().collect_bytes(),
            Format::Deflate => p.inflate().collect_bytes(),
        }
        .unwrap()
        .to_vec()
    }

    fn encoder(format: Format, level: u32) -> CompressedEncoder {
        match format {
            Format::Gzip => CompressedEncoder::gzip(level),
            Format::Zlib => CompressedEncoder::zlib(level),
            Format::Deflate => CompressedEncoder::deflate(level),
        }
    }

    fn items() -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = (0..20)
            .map(|i| format!("event {i}: {}\n\n", "data ".repeat(i * 7)).into_bytes())
            .collect();
        v.insert(3, Vec::new());
        // Larger than the engine's output buffer, incompressible.
        let mut x = 1u64;
        v.push(
            (0..100_000)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    (x >> 56) as u8
                })
                .collect(),
        );
        v
    }

    #[tokio::test]
    async fn each_item_is_sync_flushed_and_the_stream_round_trips() {
        for format in [Format::Gzip, Format::Zlib, Format::Deflate] {
            let mut w = FramedWrite::new(Vec::new(), encoder(format, 6));
            let mut sent = Vec::new();
            for item in items() {
                let before = w.get_ref().len();
                w.send(Bytes::from(item.clone())).await.unwrap();
                if item.is_empty() {
                    assert_eq!(w.get_ref().len(), before, "an empty item writes nothing");
                }
                sent.extend_from_slice(&item);
                // Everything sent so far decodes now, before the end.
                let mut dec = Decompressor::new(format);
                let mut plain = Vec::with_capacity(sent.len() + 1);
                dec.decode(w.get_ref(), &mut plain).unwrap();
                assert_eq!(plain, sent, "{format:?}");
            }
            w.send(Finish).await.unwrap();
            assert!(w.encoder().is_finished());
            let wire = w.get_ref().clone();
            assert_eq!(flate2_decode(format, &wire), sent, "{format:?}");
            assert_eq!(crate_decode(format, wire.clone()), sent, "{format:?}");
            // A second finish writes nothing; data after it is refused.
            w.send(Finish).await.unwrap();
            assert_eq!(w.get_ref(), &wire);
            let err = w.send(&b"late"[..]).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        }
    }

    #[tokio::test]
    async fn without_sync_flush_output_waits_for_the_end_and_still_round_trips() {
        let mut w = FramedWrite::new(Vec::new(), CompressedEncoder::gzip(9).sync_flush(false));
        w.send(&b"small"[..]).await.unwrap();
        // The header at most: the engine keeps small input.
        assert!(w.get_ref().len() <= 10, "{}", w.get_ref().len());
        let mut sent = b"small".to_vec();
        for item in items() {
            w.send(Bytes::from(item.clone())).await.unwrap();
            sent.extend_from_slice(&item);
        }
        w.send(Finish).await.unwrap();
        assert_eq!(flate2_decode(Format::Gzip, w.get_ref()), sent);
        assert_eq!(crate_decode(Format::Gzip, w.get_ref().clone()), sent);
    }
}
