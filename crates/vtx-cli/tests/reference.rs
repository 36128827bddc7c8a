//! docs/cli.md is the reference of every command as the binary itself describes it.

#[test]
fn the_command_reference_is_what_the_binary_says() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vtx"))
        .arg("reference")
        .output()
        .expect("vtx runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let generated = String::from_utf8(out.stdout).unwrap();
    for command in [
        "## `vtx index`",
        "## `vtx search`",
        "## `vtx eval retrieval`",
        "## `vtx models pull`",
    ] {
        assert!(generated.contains(command), "{command} is in the reference");
    }
    assert!(
        !generated.contains("`vtx reference`\n"),
        "the hidden command is left out"
    );
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
    let written = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        written == generated,
        "docs/cli.md is out of date with the binary's help: run `vtx reference > docs/cli.md`"
    );
}
