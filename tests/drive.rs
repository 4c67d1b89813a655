//! The vectored write driver against a scripted writer.

mod util;

use std::io;

use producers::io::{DriveStatus, Driver};
use producers::testing::{self, Script, Step};
use producers::{FileProducer, ProducerExt, from_bytes, produce::BytesProducer};
use util::{Act, ScriptedWriter, data};

fn drive_all<P: producers::Producer>(
    p: P,
    w: &mut ScriptedWriter,
) -> (io::Result<u64>, usize, usize) {
    let (mut cx, wakes) = testing::counting_context();
    let mut d = Driver::new(p).max_write(1000);
    let mut would_blocks = 0;
    let mut pendings = 0;
    loop {
        match d.write_to(w, &mut cx) {
            Ok(DriveStatus::Done) => return (Ok(d.written()), would_blocks, pendings),
            Ok(DriveStatus::WouldBlock) => would_blocks += 1,
            Ok(DriveStatus::Pending) => {
                pendings += 1;
                assert!(
                    wakes.count() >= pendings,
                    "pending without a wake-up registered"
                );
            }
            Err(e) => return (Err(e), would_blocks, pendings),
        }
        assert!(would_blocks + pendings < 10_000, "driver does not progress");
    }
}

#[test]
fn partial_writes_resume_exactly() {
    let d = data(5000, 1);
    for step in [1, 2, 3, 7, 100, 999] {
        let mut w = ScriptedWriter::new(std::iter::repeat_n(Act::Accept(step), 10_000));
        let p = BytesProducer::with_piece_size(d.clone(), 37).unwrap();
        let (r, _, _) = drive_all(p, &mut w);
        assert_eq!(r.unwrap(), 5000);
        assert_eq!(w.out, d, "step {step}");
    }
}

#[test]
fn consecutive_chunks_go_out_in_one_vectored_write() {
    let d = data(640, 2);
    let mut w = ScriptedWriter::new([]);
    let p = BytesProducer::with_piece_size(d.clone(), 10).unwrap();
    let (r, _, _) = drive_all(p, &mut w);
    assert_eq!(r.unwrap(), 640);
    assert_eq!(w.out, d);
    assert_eq!(w.slices, [64], "64 chunks gathered into one write");
}

#[test]
fn the_slice_count_stays_under_the_iovec_limit() {
    let d = data(10_000, 3);
    let mut w = ScriptedWriter::new([]);
    let (r, _, _) = drive_all(
        BytesProducer::with_piece_size(d.clone(), 1).unwrap(),
        &mut w,
    );
    assert_eq!(r.unwrap(), 10_000);
    assert!(w.slices.iter().all(|&n| n <= producers::io::MAX_SLICES));
    assert_eq!(w.out, d);
}

#[test]
fn would_block_returns_and_resumes_where_it_stopped() {
    let d = data(3000, 4);
    let script = [
        Act::Accept(5),
        Act::WouldBlock,
        Act::Accept(1),
        Act::WouldBlock,
        Act::WouldBlock,
    ];
    let mut w = ScriptedWriter::new(script);
    let (r, would_blocks, _) = drive_all(
        BytesProducer::with_piece_size(d.clone(), 100).unwrap(),
        &mut w,
    );
    assert_eq!(r.unwrap(), 3000);
    assert_eq!(would_blocks, 3);
    assert_eq!(w.out, d);
}

#[test]
fn interrupted_is_retried() {
    let d = data(300, 5);
    let mut w = ScriptedWriter::new([
        Act::Interrupted,
        Act::Accept(3),
        Act::Interrupted,
        Act::Interrupted,
    ]);
    let (r, wb, _) = drive_all(
        BytesProducer::with_piece_size(d.clone(), 100).unwrap(),
        &mut w,
    );
    assert_eq!(r.unwrap(), 300);
    assert_eq!(wb, 0);
    assert_eq!(w.out, d);
}

#[test]
fn ok_zero_becomes_write_zero_not_a_spin() {
    let mut w = ScriptedWriter::new([Act::Accept(2), Act::Accept(0)]);
    let (r, _, _) = drive_all(from_bytes("hello"), &mut w);
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::WriteZero);
    assert_eq!(w.out, b"he");
    assert_eq!(w.calls, 2);
}

#[test]
fn writer_errors_are_returned_with_their_kind() {
    let mut w = ScriptedWriter::new([Act::Accept(1), Act::Fail(io::ErrorKind::BrokenPipe)]);
    let (r, _, _) = drive_all(from_bytes("hello"), &mut w);
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
}

#[test]
fn a_pending_producer_returns_pending_after_writing_what_it_had() {
    // The driver polls again after writing; the second pending is the one
    // it returns on.
    let p = Script::new([
        Step::chunk("ab"),
        Step::Pending,
        Step::Pending,
        Step::chunk("cd"),
    ]);
    let mut w = ScriptedWriter::new([]);
    let (mut cx, _wakes) = testing::counting_context();
    let mut d = Driver::new(p);
    assert_eq!(d.write_to(&mut w, &mut cx).unwrap(), DriveStatus::Pending);
    assert_eq!(
        w.out, b"ab",
        "bytes before the pending are written, not held"
    );
    assert_eq!(d.write_to(&mut w, &mut cx).unwrap(), DriveStatus::Done);
    assert_eq!(w.out, b"abcd");
}

#[test]
fn bytes_before_a_producer_error_are_written_then_the_error_is_returned() {
    let p = Script::new([
        Step::chunk("ab"),
        Step::chunk("cd"),
        Step::error(io::ErrorKind::TimedOut),
    ]);
    let mut w = ScriptedWriter::new([Act::Accept(1), Act::WouldBlock]);
    let (r, _, _) = drive_all(p, &mut w);
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::TimedOut);
    assert_eq!(w.out, b"abcd");
}

#[test]
fn file_regions_are_read_in_bounded_pieces() {
    let d = data(10_000, 6);
    let f = testing::file_with(&d);
    let p = from_bytes("<")
        .then(FileProducer::from_file(f).unwrap().regions())
        .then(from_bytes(">"));
    let mut w = ScriptedWriter::new(std::iter::repeat_n(Act::Accept(333), 100));
    let (r, _, _) = drive_all(p, &mut w);
    assert_eq!(r.unwrap(), 10_002);
    assert_eq!(&w.out[1..10_001], &d[..]);
}

#[test]
fn a_file_that_shrinks_under_a_region_is_an_error_not_a_short_body() {
    let d = data(10_000, 7);
    let f = testing::file_with(&d);
    let p = FileProducer::from_file(f.try_clone().unwrap())
        .unwrap()
        .regions();
    f.set_len(4000).unwrap();
    let mut w = ScriptedWriter::new([]);
    let (r, _, _) = drive_all(p, &mut w);
    assert_eq!(r.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    assert!(w.out.len() <= 4000);
}

#[test]
fn blocking_copy_parks_on_a_producer_fed_from_another_thread() {
    let (mut wr, p) = producers::produce::output_with_capacity(100);
    let d = data(50_000, 8);
    let expected = d.clone();
    let t = std::thread::spawn(move || {
        use std::io::Write;
        for piece in d.chunks(777) {
            wr.write_all(piece).unwrap();
        }
    });
    let mut out = Vec::new();
    assert_eq!(producers::io::copy(p, &mut out).unwrap(), 50_000);
    t.join().unwrap();
    assert_eq!(out, expected);
}

#[test]
fn pending_registers_the_waker_of_the_current_call() {
    // The Driver must not swallow a producer's Pending: a fresh context each
    // time must be the one woken.
    let (mut w, p) = producers::produce::output();
    let mut d = Driver::new(p);
    let mut sink = Vec::new();
    let (mut cx1, wakes1) = testing::counting_context();
    assert_eq!(
        d.write_to(&mut sink, &mut cx1).unwrap(),
        DriveStatus::Pending
    );
    let (mut cx2, wakes2) = testing::counting_context();
    assert_eq!(
        d.write_to(&mut sink, &mut cx2).unwrap(),
        DriveStatus::Pending
    );
    use std::io::Write;
    w.write_all(b"x").unwrap();
    assert_eq!((wakes1.count(), wakes2.count()), (0, 1));
}
