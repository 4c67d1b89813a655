//! The conformance macro applied to every producer and to stacks of
//! combinators (each becomes its own test).

use producers::{
    Chain, FileProducer, ProducerExt, conformance, from_bytes,
    produce::{BytesProducer, LinesProducer, ListProducer},
    testing,
};

const TEXT: &[u8] = b"It was a bright cold day in April, and the clocks were striking thirteen.";

fn file() -> FileProducer {
    FileProducer::from_file(testing::file_with(TEXT)).unwrap()
}

conformance!(bytes_whole, from_bytes(TEXT), TEXT);
conformance!(
    bytes_in_pieces,
    BytesProducer::with_piece_size(TEXT, 5).unwrap(),
    TEXT
);
conformance!(
    lines,
    LinesProducer::new(["a", "", "b"]).batch(2),
    b"a\r\n\r\nb\r\n"
);
conformance!(
    list_with_empties,
    ListProducer::new(["It was", "", " a"]),
    b"It was a"
);
conformance!(file_blocks, file().block_size(7), TEXT);
conformance!(file_regions, file().regions(), TEXT);
conformance!(file_range, file().range(3, 10), &TEXT[3..13]);
conformance!(
    chain,
    Chain::of([
        from_bytes(&TEXT[..10]).boxed(),
        file().range(10, 20).regions().boxed()
    ]),
    &TEXT[..30]
);
conformance!(
    glob_over_regions_in_pieces,
    file().regions().pieces(3).glob(8),
    TEXT
);
conformance!(
    hooked_glob_then,
    from_bytes(&TEXT[..20])
        .pieces(1)
        .then(file().range(20, TEXT.len() as u64 - 20))
        .glob(16)
        .hooked(|n, e| assert!(n == TEXT.len() as u64 && e.is_none())),
    TEXT
);
conformance!(
    output_producer,
    {
        let (mut w, p) = producers::produce::output();
        std::io::Write::write_all(&mut w, TEXT).unwrap();
        p
    },
    TEXT
);
