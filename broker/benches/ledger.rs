//! Ledger benchmark (`cargo bench -p kruispunt-broker --bench ledger`): durable appends per
//! second with 1 and 64 concurrent writers (SQLite, WAL, `synchronous = FULL`, group commit),
//! inclusion- and consistency-proof latency at 1,000,000 entries, bytes of storage per entry, and
//! the machine's fsync time for reference. Prints a Markdown table.
//!
//! `KRUISPUNT_BENCH_ENTRIES` overrides the 1,000,000-entry tree size.

#![allow(clippy::unwrap_used, clippy::print_stdout, missing_docs)]

use std::io::Write;
use std::time::{Duration, Instant};

use kruispunt_broker::ledger::{Ledger, LedgerReader, load_or_create_signing_key};
use kruispunt_broker::store::Database;
use kruispunt_transparency::{LedgerEntry, Outcome};

fn entry(number: u64) -> LedgerEntry {
    LedgerEntry {
        leaf_index: 0,
        recorded_at_micros: 1_800_000_000_000_000 + i64::try_from(number).unwrap(),
        consumer: "be.vlaanderen.gemeente-lokeren".to_owned(),
        provider: "be.example.civil-registry".to_owned(),
        data_type: "persoon.GeregistreerdPersoon@1".to_owned(),
        purpose: "social-benefits".to_owned(),
        legal_basis: "Wet van 15 januari 1990, art. 11".to_owned(),
        legal_basis_ref: "http://www.ejustice.just.fgov.be/eli/wet/1990/01/15/1990002007/justel"
            .to_owned(),
        consent_id: String::new(),
        subject_pseudonym: [u8::try_from(number % 251).unwrap(); 32],
        payload_sha256: Some([7; 32]),
        rules_version: 0,
        pseudonym_epoch: 0,
        transfer_id: [0; 16],
        request_digest: None,
        case_reference_digest: None,
        source_payload_sha256: None,
        answer_signature: None,
        legacy_request_id: String::new(),
        outcome: Outcome::Delivered,
        refusal_reason: String::new(),
    }
}

async fn open(directory: &std::path::Path) -> (Database, Ledger) {
    let url = format!("sqlite://{}", directory.join("ledger.db").display());
    let database = Database::open(&url).await.unwrap();
    let signer = load_or_create_signing_key(&directory.join("key"), "bench/ledger").unwrap();
    let ledger = Ledger::start(&database, 1024, signer).await.unwrap();
    (database, ledger)
}

/// Appends `total` entries from `writers` concurrent tasks; returns appends per second.
async fn appends_per_second(ledger: &Ledger, writers: u64, total: u64) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                let mut number = writer;
                while number < total {
                    ledger.append(entry(number)).await.unwrap();
                    number += writers;
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let position = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[position]
}

fn fsync_time(directory: &std::path::Path) -> Duration {
    let path = directory.join("fsync-probe");
    let mut file = std::fs::File::create(&path).unwrap();
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        file.write_all(&[0; 4096]).unwrap();
        file.sync_data().unwrap();
    }
    started.elapsed() / rounds
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let entries: u64 = std::env::var("KRUISPUNT_BENCH_ENTRIES")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000);
    let directory = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let fsync = fsync_time(directory.path());

    let single_directory = tempfile::tempdir().unwrap();
    let (_single_database, single) = open(single_directory.path()).await;
    let single_rate = appends_per_second(&single, 1, 2_000).await;

    let (database, ledger) = open(directory.path()).await;
    let concurrent_rate = appends_per_second(&ledger, 64, 100_000).await;
    // Fill up to the target size, then measure proofs there.
    let started = Instant::now();
    let filler = ledger.clone();
    let remaining = entries.saturating_sub(ledger.durable_size().await.unwrap());
    let fill_rate = appends_per_second(&filler, 256, remaining).await;
    let fill_time = started.elapsed();
    let size = ledger.durable_size().await.unwrap();
    let reader = LedgerReader::for_database(&database);
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let index = state % size;
        let started = Instant::now();
        reader.inclusion_proof(index, size).await.unwrap();
        inclusion.push(started.elapsed());
        let old = 1 + state % (size - 1);
        let started = Instant::now();
        reader.consistency_proof(old, size).await.unwrap();
        consistency.push(started.elapsed());
    }
    inclusion.sort();
    consistency.sort();
    drop(ledger);
    let pool = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        directory.path().join("ledger.db").display()
    ))
    .await
    .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let bytes: u64 = ["ledger.db", "ledger.db-wal"]
        .iter()
        .filter_map(|name| std::fs::metadata(directory.path().join(name)).ok())
        .map(|metadata| metadata.len())
        .sum();
    let encoded = entry(123_456).encode().len();

    println!("| measure | value |");
    println!("| --- | --- |");
    println!(
        "| fsync (4 KiB write + fdatasync) | {:.2} ms |",
        fsync.as_secs_f64() * 1e3
    );
    println!("| durable appends/s, 1 writer | {single_rate:.0} |");
    println!("| durable appends/s, 64 concurrent writers | {concurrent_rate:.0} |");
    println!(
        "| durable appends/s, 256 writers (fill to {size}) | {fill_rate:.0} ({:.1} s) |",
        fill_time.as_secs_f64()
    );
    for (name, samples) in [("inclusion", &inclusion), ("consistency", &consistency)] {
        println!(
            "| {name} proof at {size} entries, p50 / p99 | {:.0} µs / {:.0} µs |",
            percentile(samples, 0.5).as_secs_f64() * 1e6,
            percentile(samples, 0.99).as_secs_f64() * 1e6
        );
    }
    println!(
        "| storage per entry (entry {encoded} B, database with indices and tree nodes) | {:.0} B |",
        bytes as f64 / size as f64
    );
}
