//! The compatibility rule of `proto-compat`, on small contracts compiled by protox from files
//! written to a temporary folder: every kind of breaking change is refused, additions and
//! removals behind reservations pass and are reported.

#![allow(clippy::unwrap_used)]

use xtask::proto_compat::{self, Comparison, ContractListing};

/// A contract with one of everything the listing knows.
const LOOKUP: &str = r#"
syntax = "proto3";
package demo.v1;

import "demo/v1/common.proto";

message Request {
  string id = 1;
  repeated string tags = 2;
  Kind kind = 3;
  map<string, int64> counts = 4;
  oneof target {
    string person = 5;
    string enterprise = 6;
  }
  optional string note = 7;
  Nested nested = 8;
  reserved 9, 100 to max;
  reserved "legacy";

  message Nested {
    uint32 depth = 1;
  }
}

message Response {
  bytes payload = 1;
}

enum Kind {
  KIND_UNSPECIFIED = 0;
  KIND_PERSON = 1;
  KIND_ENTERPRISE = 2;
  reserved 7;
  reserved "KIND_ASSOCIATION";
}

service Lookup {
  rpc Get(Request) returns (Response);
  rpc Watch(Request) returns (stream Response);
}
"#;

const COMMON: &str = r#"
syntax = "proto3";
package demo.v1;

message Other {
  string value = 1;
}
"#;

const LOOKUP_FILE: &str = "demo/v1/lookup.proto";
const COMMON_FILE: &str = "demo/v1/common.proto";

/// Compiles `files` (name, text) from a temporary folder and lists them.
fn listing(files: &[(&str, &str)]) -> ContractListing {
    let folder = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = folder.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let names: Vec<String> = files.iter().map(|(name, _)| (*name).to_owned()).collect();
    proto_compat::list_contract(folder.path(), &names).unwrap_or_else(|error| panic!("{error}"))
}

/// The two-file contract with `lookup` as the lookup file.
fn contract(lookup: &str) -> ContractListing {
    listing(&[(LOOKUP_FILE, lookup), (COMMON_FILE, COMMON)])
}

/// `LOOKUP` with `from` replaced by `to`; `from` must occur exactly once.
fn edited(from: &str, to: &str) -> String {
    assert_eq!(
        LOOKUP.matches(from).count(),
        1,
        "{from:?} is not in LOOKUP once"
    );
    LOOKUP.replace(from, to)
}

/// The baseline contract compared with `LOOKUP` edited.
fn compared_with_edit(from: &str, to: &str) -> Comparison {
    proto_compat::compare(&contract(LOOKUP), &contract(&edited(from, to)))
}

/// Asserts the comparison refuses with exactly one line containing `expected`.
fn assert_refused(comparison: &Comparison, expected: &str) {
    assert!(
        comparison
            .refusals
            .iter()
            .any(|refusal| refusal.contains(expected)),
        "expected a refusal containing {expected:?}, got {comparison:#?}"
    );
}

#[test]
fn the_listing_shows_types_cardinalities_oneofs_maps_and_reservations() {
    let listing = contract(LOOKUP);
    assert_eq!(listing.packages.len(), 1);
    let package = &listing.packages[0];
    let messages: Vec<&str> = package
        .messages
        .iter()
        .map(|message| message.name.as_str())
        .collect();
    // The map's synthetic entry message is not listed; the nested message is.
    assert_eq!(
        messages,
        [
            "demo.v1.Other",
            "demo.v1.Request",
            "demo.v1.Request.Nested",
            "demo.v1.Response"
        ]
    );
    let request = &package.messages[1];
    let rows: Vec<String> = request
        .fields
        .iter()
        .map(|field| {
            format!(
                "{} {} {} {} {} {} {}",
                field.number,
                field.name,
                field.field_type,
                field.type_name.as_deref().unwrap_or("-"),
                field.cardinality,
                field.key_type.as_deref().unwrap_or("-"),
                field.oneof.as_deref().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            "1 id string - singular - -",
            "2 tags string - repeated - -",
            "3 kind enum demo.v1.Kind singular - -",
            "4 counts int64 - map string -",
            "5 person string - singular - target",
            "6 enterprise string - singular - target",
            "7 note string - optional - -",
            "8 nested message demo.v1.Request.Nested singular - -",
        ]
    );
    let reserved: Vec<(i32, i32)> = request
        .reserved_numbers
        .iter()
        .map(|range| (range.first, range.last))
        .collect();
    assert_eq!(reserved, [(9, 9), (100, 536_870_911)]);
    assert_eq!(request.reserved_names, ["legacy"]);
    let kind = &package.enums[0];
    assert_eq!(kind.name, "demo.v1.Kind");
    assert_eq!(kind.values.len(), 3);
    assert_eq!(
        (
            kind.reserved_numbers[0].first,
            kind.reserved_numbers[0].last
        ),
        (7, 7)
    );
    let watch = &package.services[0].methods[1];
    assert_eq!(
        (
            watch.name.as_str(),
            watch.input.as_str(),
            watch.client_streaming,
            watch.server_streaming
        ),
        ("Watch", "demo.v1.Request", false, true)
    );
}

#[test]
fn the_baseline_text_reads_back_as_the_same_listing() {
    let listing = contract(LOOKUP);
    let text = listing.render();
    assert!(text.ends_with("}\n"));
    assert_eq!(ContractListing::parse(&text).unwrap(), listing);
    let unknown_key = text.replacen("\"generated_by\"", "\"unexpected\": 1, \"generated_by\"", 1);
    assert!(ContractListing::parse(&unknown_key).is_err());
}

#[test]
fn an_unchanged_contract_has_nothing_to_report() {
    let comparison = proto_compat::compare(&contract(LOOKUP), &contract(LOOKUP));
    assert_eq!(comparison, Comparison::default());
}

#[test]
fn a_message_moved_to_another_file_of_its_package_changes_nothing() {
    let baseline = contract(LOOKUP);
    let response = "message Response {\n  bytes payload = 1;\n}\n";
    let lookup = edited(response, "");
    let common = format!("{COMMON}\n{response}");
    let moved = listing(&[(LOOKUP_FILE, &lookup), (COMMON_FILE, &common)]);
    assert_eq!(
        proto_compat::compare(&baseline, &moved),
        Comparison::default()
    );
    assert_eq!(moved, baseline);
}

#[test]
fn a_field_number_reused_for_another_name_is_refused() {
    let comparison = compared_with_edit("string id = 1;", "string identifier = 1;");
    assert_refused(
        &comparison,
        "demo.v1.Request: field number 1 was `id` and is now `identifier`",
    );
}

#[test]
fn a_changed_field_type_is_refused() {
    let comparison = compared_with_edit("string id = 1;", "int64 id = 1;");
    assert_refused(
        &comparison,
        "demo.v1.Request.id (1): type changed from string to int64",
    );
    let comparison = compared_with_edit("Kind kind = 3;", "string kind = 3;");
    assert_refused(&comparison, "type changed from enum to string");
}

#[test]
fn a_changed_field_type_name_is_refused() {
    let comparison = compared_with_edit("Nested nested = 8;", "Other nested = 8;");
    assert_refused(
        &comparison,
        "demo.v1.Request.nested (8): type name changed from demo.v1.Request.Nested to demo.v1.Other",
    );
}

#[test]
fn a_changed_cardinality_is_refused() {
    let comparison = compared_with_edit("string id = 1;", "repeated string id = 1;");
    assert_refused(
        &comparison,
        "demo.v1.Request.id (1): cardinality changed from singular to repeated",
    );
    let comparison = compared_with_edit("optional string note = 7;", "string note = 7;");
    assert_refused(&comparison, "cardinality changed from optional to singular");
    let comparison = compared_with_edit("repeated string tags = 2;", "string tags = 2;");
    assert_refused(&comparison, "cardinality changed from repeated to singular");
}

#[test]
fn a_changed_map_key_or_value_type_is_refused() {
    let comparison = compared_with_edit("map<string, int64> counts", "map<string, string> counts");
    assert_refused(
        &comparison,
        "demo.v1.Request.counts (4): type changed from int64 to string",
    );
    let comparison = compared_with_edit("map<string, int64> counts", "map<int32, int64> counts");
    assert_refused(&comparison, "map key type changed from string to int32");
    let comparison = compared_with_edit(
        "map<string, int64> counts = 4;",
        "repeated int64 counts = 4;",
    );
    assert_refused(&comparison, "cardinality changed from map to repeated");
}

#[test]
fn a_field_moved_out_of_its_oneof_is_refused() {
    let comparison = compared_with_edit(
        "    string enterprise = 6;\n  }",
        "  }\n  string enterprise = 6;",
    );
    assert_refused(
        &comparison,
        "demo.v1.Request.enterprise (6): oneof changed from target to none",
    );
}

#[test]
fn a_removed_field_is_refused_unless_its_number_and_name_are_reserved() {
    let field = "  repeated string tags = 2;\n";
    let comparison = compared_with_edit(field, "");
    assert_refused(
        &comparison,
        "demo.v1.Request: field 2 `tags` removed without reserving it (add `reserved 2; reserved \"tags\";`)",
    );

    let comparison = compared_with_edit(field, "  reserved 2;\n");
    assert_refused(&comparison, "(add `reserved \"tags\";`)");
    let comparison = compared_with_edit(field, "  reserved \"tags\";\n");
    assert_refused(&comparison, "(add `reserved 2;`)");

    let comparison = compared_with_edit(field, "  reserved 2;\n  reserved \"tags\";\n");
    assert!(comparison.is_compatible(), "{comparison:#?}");
    assert_eq!(
        comparison.compatible,
        [
            "demo.v1.Request: field 2 `tags` removed, its number and name reserved",
            "demo.v1.Request: field number(s) 2 reserved",
            "demo.v1.Request: field name \"tags\" reserved",
        ]
    );
}

#[test]
fn a_dropped_reservation_is_refused() {
    let comparison = compared_with_edit("reserved 9, 100 to max;", "reserved 100 to max;");
    assert_refused(
        &comparison,
        "demo.v1.Request: reserved field number 9 is no longer reserved",
    );
    let comparison = compared_with_edit(
        "reserved 9, 100 to max;",
        "reserved 100 to max;\n  string revived = 9;",
    );
    assert_refused(&comparison, "reserved field number 9 is no longer reserved");
    let comparison = compared_with_edit("reserved 9, 100 to max;", "reserved 9, 100 to 200;");
    assert_refused(
        &comparison,
        "reserved field number 201 is no longer reserved",
    );
    let comparison = compared_with_edit("reserved \"legacy\";", "");
    assert_refused(
        &comparison,
        "reserved field name \"legacy\" is no longer reserved",
    );
    let comparison = compared_with_edit("reserved \"KIND_ASSOCIATION\";", "");
    assert_refused(
        &comparison,
        "demo.v1.Kind: reserved value name \"KIND_ASSOCIATION\" is no longer reserved",
    );
}

#[test]
fn a_removed_message_is_refused() {
    let comparison = proto_compat::compare(
        &contract(LOOKUP),
        &listing(&[
            (
                LOOKUP_FILE,
                &edited("message Response {\n  bytes payload = 1;\n}\n", "")
                    .replace("(Response)", "(Other)")
                    .replace("(stream Response)", "(stream Other)"),
            ),
            (COMMON_FILE, COMMON),
        ]),
    );
    assert_refused(
        &comparison,
        "message demo.v1.Response is gone (removed or renamed)",
    );
    let comparison = proto_compat::compare(
        &contract(LOOKUP),
        &listing(&[
            (LOOKUP_FILE, LOOKUP),
            (COMMON_FILE, "syntax = \"proto3\";\npackage demo.v1;\n"),
        ]),
    );
    // The lookup file imports the common file but does not use `Other`.
    assert_refused(&comparison, "message demo.v1.Other is gone");
}

#[test]
fn a_removed_or_renumbered_enum_value_is_refused() {
    let comparison = compared_with_edit("  KIND_ENTERPRISE = 2;\n", "");
    assert_refused(
        &comparison,
        "demo.v1.Kind: value `KIND_ENTERPRISE` (2) removed without reserving its number and name",
    );
    let comparison = compared_with_edit("KIND_ENTERPRISE = 2;", "KIND_COMPANY = 2;");
    assert_refused(
        &comparison,
        "demo.v1.Kind: value `KIND_ENTERPRISE` (2) is gone; the number now has another name",
    );
    let comparison = compared_with_edit("KIND_ENTERPRISE = 2;", "KIND_ENTERPRISE = 3;");
    assert_refused(
        &comparison,
        "demo.v1.Kind: value `KIND_ENTERPRISE` changed its number from 2 to 3",
    );
    let comparison = compared_with_edit(
        "  KIND_ENTERPRISE = 2;\n  reserved 7;\n  reserved \"KIND_ASSOCIATION\";",
        "  reserved 2, 7;\n  reserved \"KIND_ASSOCIATION\", \"KIND_ENTERPRISE\";",
    );
    assert!(comparison.is_compatible(), "{comparison:#?}");
    assert!(
        comparison.compatible.contains(
            &"demo.v1.Kind: value 2 `KIND_ENTERPRISE` removed, its number and name reserved"
                .to_owned()
        ),
        "{comparison:#?}"
    );
}

#[test]
fn a_removed_enum_is_refused() {
    let without_enum = edited("Kind kind = 3;", "string kind = 3;");
    let start = without_enum.find("enum Kind {").unwrap();
    let end = start + without_enum[start..].find("}\n").unwrap() + 2;
    let without_enum = format!("{}{}", &without_enum[..start], &without_enum[end..]);
    let comparison = proto_compat::compare(&contract(LOOKUP), &contract(&without_enum));
    assert_refused(
        &comparison,
        "enum demo.v1.Kind is gone (removed or renamed)",
    );
}

#[test]
fn a_removed_method_is_refused() {
    let comparison = compared_with_edit("  rpc Watch(Request) returns (stream Response);\n", "");
    assert_refused(
        &comparison,
        "demo.v1.Lookup: method Watch is gone (removed or renamed)",
    );
    let comparison = compared_with_edit("rpc Watch(", "rpc Observe(");
    assert_refused(&comparison, "demo.v1.Lookup: method Watch is gone");
}

#[test]
fn a_changed_method_input_output_or_streaming_is_refused() {
    let comparison = compared_with_edit("rpc Get(Request)", "rpc Get(Other)");
    assert_refused(
        &comparison,
        "demo.v1.Lookup.Get: input changed from demo.v1.Request to demo.v1.Other",
    );
    let comparison = compared_with_edit(
        "rpc Get(Request) returns (Response);",
        "rpc Get(Request) returns (Other);",
    );
    assert_refused(
        &comparison,
        "demo.v1.Lookup.Get: output changed from demo.v1.Response to demo.v1.Other",
    );
    let comparison = compared_with_edit("returns (stream Response)", "returns (Response)");
    assert_refused(
        &comparison,
        "demo.v1.Lookup.Watch: changed from server streaming to unary",
    );
    let comparison = compared_with_edit("rpc Get(Request)", "rpc Get(stream Request)");
    assert_refused(
        &comparison,
        "demo.v1.Lookup.Get: changed from unary to client streaming",
    );
}

#[test]
fn a_renamed_service_is_refused() {
    let comparison = compared_with_edit("service Lookup {", "service Finder {");
    assert_refused(
        &comparison,
        "service demo.v1.Lookup is gone (removed or renamed)",
    );
    assert!(
        comparison
            .compatible
            .contains(&"service demo.v1.Finder added".to_owned())
    );
}

#[test]
fn a_renamed_package_is_refused() {
    let lookup = LOOKUP.replace("package demo.v1;", "package demo.v2;");
    let common = COMMON.replace("package demo.v1;", "package demo.v2;");
    let comparison = proto_compat::compare(
        &contract(LOOKUP),
        &listing(&[(LOOKUP_FILE, &lookup), (COMMON_FILE, &common)]),
    );
    assert_eq!(
        comparison.refusals,
        ["package demo.v1 is gone (removed or renamed)"]
    );
    assert_eq!(comparison.compatible, ["package demo.v2 added"]);
}

#[test]
fn additions_pass_and_are_reported() {
    let lookup = edited("  Nested nested = 8;\n", "  Nested nested = 8;\n  string added = 10;\n")
        .replace(
            "  KIND_ENTERPRISE = 2;\n",
            "  KIND_ENTERPRISE = 2;\n  KIND_FOUNDATION = 3;\n",
        )
        .replace(
            "  rpc Watch(Request) returns (stream Response);\n",
            "  rpc Watch(Request) returns (stream Response);\n  rpc Count(stream Request) returns (Response);\n",
        )
        .replace("  reserved \"legacy\";\n", "  reserved \"legacy\", \"older\";\n")
        + "\nmessage Added {\n  repeated Kind kinds = 1;\n}\n\nenum Colour {\n  COLOUR_UNSPECIFIED = 0;\n}\n\nservice Directory {\n  rpc List(Added) returns (Added);\n}\n";
    let audit =
        "syntax = \"proto3\";\npackage demo.audit.v1;\nmessage Entry {\n  uint64 index = 1;\n}\n";
    let after = listing(&[
        (LOOKUP_FILE, &lookup),
        (COMMON_FILE, COMMON),
        ("demo/audit/v1/audit.proto", audit),
    ]);
    let comparison = proto_compat::compare(&contract(LOOKUP), &after);
    assert!(comparison.is_compatible(), "{comparison:#?}");
    let mut reported = comparison.compatible.clone();
    reported.sort();
    assert_eq!(
        reported,
        [
            "demo.v1.Kind: value 3 `KIND_FOUNDATION` added",
            "demo.v1.Lookup: method Count added",
            "demo.v1.Request: field 10 `added` added",
            "demo.v1.Request: field name \"older\" reserved",
            "enum demo.v1.Colour added",
            "message demo.v1.Added added",
            "package demo.audit.v1 added",
            "service demo.v1.Directory added",
        ]
    );
}
