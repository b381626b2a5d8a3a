//! Every bad input fails before any AWS call, with an error that names the input and
//! says what to do, and leaves the function exactly as it was.

mod support;

use support::{deploy, example_copy, path_str, role, snapshot, unique};

/// Inputs beyond function-name and source-dir, the input the error must name, and words
/// its message must hold.
type Case = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

const CASES: &[Case] = &[
    (
        &[("memory-size", "64")],
        "memory-size",
        "give a size in MB from 128 to 10240",
    ),
    (
        &[("memory-size", "lots")],
        "memory-size",
        "is not a whole number",
    ),
    (
        &[("timeout", "901")],
        "timeout",
        "give seconds from 1 to 900",
    ),
    (
        &[("runtime", "python2.9")],
        "runtime",
        "is not a Lambda runtime",
    ),
    (&[("handler", "app handler")], "handler", "without spaces"),
    (&[("role", "my-role")], "role", "is not an IAM role ARN"),
    (
        &[("architecture", "amd64")],
        "architecture",
        "is not one of: x86_64, arm64",
    ),
    (&[("alias", "1.2.3")], "alias", "contains a dot"),
    (&[("alias", "123")], "alias", "is all digits"),
    (
        &[("alias", "pr-12")],
        "alias",
        "is reserved for pull request previews",
    ),
    (
        &[("environment", "NO_EQUALS_SIGN")],
        "environment",
        "line 1 has no '='",
    ),
    (
        &[("environment", "AWS_REGION=eu-west-1")],
        "environment",
        "reserved by the Lambda runtime",
    ),
    (
        &[("environment", "{not json")],
        "environment",
        "is not a valid JSON object",
    ),
    (
        &[("environment-mode", "replace")],
        "environment-mode",
        "an empty replace would wipe them",
    ),
    (
        &[("tags", "aws:owner=me")],
        "tags",
        "reserved prefix 'aws:'",
    ),
    (
        &[("layers", "arn:aws:lambda:us-east-1:123456789012:layer:deps")],
        "layers",
        "is not a layer version ARN",
    ),
    (&[("publish", "maybe")], "publish", "use true or false"),
    (
        &[("publish", "false"), ("alias", "live")],
        "alias",
        "set publish: true or remove alias",
    ),
    (
        &[("publish", "false"), ("smoke-test", "{}")],
        "smoke-test",
        "set publish: true or remove smoke-test",
    ),
    (
        &[("smoke-test", "{ping")],
        "smoke-test",
        "is not valid JSON",
    ),
    (
        &[("alias", "lambda-deploy-lock")],
        "alias",
        "is reserved: lambda-deploy creates and deletes it as a lock",
    ),
    (&[("exclude", "src/[")], "exclude", "is not a valid glob"),
    (
        &[("wait-timeout", "0")],
        "wait-timeout",
        "give seconds from 1 to 3600",
    ),
    (
        &[("package-type", "jar")],
        "package-type",
        "is not one of: zip, image",
    ),
    (
        &[("zip-file", "missing.zip")],
        "zip-file",
        "cannot be combined with source-dir",
    ),
    (
        &[(
            "image-uri",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
        )],
        "image-uri",
        "applies only to package-type image",
    ),
    (
        &[
            ("package-type", "image"),
            (
                "image-uri",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
            ),
        ],
        "image-uri",
        "cannot be combined with source-dir",
    ),
    (
        &[("package-type", "image")],
        "handler",
        "is required to build an image",
    ),
    (
        &[
            ("package-type", "image"),
            ("handler", "app.handler"),
            ("base-image", "Base/Image:1"),
        ],
        "base-image",
        "repository names use lowercase letters",
    ),
    (
        &[
            ("package-type", "image"),
            ("handler", "app.handler"),
            ("base-image", "public.ecr.aws/lambda/python"),
        ],
        "base-image",
        "names no tag or digest",
    ),
    (
        &[
            ("package-type", "image"),
            ("handler", "app.handler"),
            ("ecr-repository", "My_Repo"),
        ],
        "ecr-repository",
        "is not an ECR repository name",
    ),
    (
        &[
            ("package-type", "image"),
            ("handler", "app.handler"),
            ("registry-endpoint", "http://registry.example.com"),
        ],
        "registry-endpoint",
        "http:// on a non-loopback host",
    ),
    (
        &[
            ("package-type", "image"),
            ("handler", "app.handler"),
            ("registry-endpoint", "http://127.0.0.1.example.com:5000"),
        ],
        "registry-endpoint",
        "http:// on a non-loopback host",
    ),
    (
        &[("package-type", "image"), ("image-command", "[1]")],
        "image-command",
        "is not a JSON array of strings",
    ),
    (
        &[
            ("package-type", "image"),
            ("handler", "app.handler"),
            ("runtime", "python3.12"),
        ],
        "runtime",
        "applies only to package-type zip",
    ),
    (
        &[("package-type", "image"), ("zip-file", "app.zip")],
        "zip-file",
        "applies only to package-type zip",
    ),
    (
        &[("function-url", "open")],
        "function-url",
        "is not one of: none, public, iam",
    ),
    (
        &[("function-url", "public"), ("preview", "false")],
        "function-url",
        "needs an alias to attach the URL to",
    ),
    (
        &[("function-url", "iam"), ("publish", "false")],
        "function-url",
        "set publish: true or function-url: none",
    ),
    (
        &[("preview", "sometimes")],
        "preview",
        "is not one of: auto, false",
    ),
    (
        &[("semver-aliases", "maybe")],
        "semver-aliases",
        "use true or false",
    ),
    (&[("comment", "perhaps")], "comment", "use true or false"),
    (
        &[("s3-bucket", "s3://my-bucket/builds")],
        "s3-bucket",
        "is not an S3 bucket name; give the bucket's name only",
    ),
    (
        &[("s3-key-prefix", "/builds/")],
        "s3-key-prefix",
        "must not start with '/'",
    ),
    (
        &[("layer-dirs", "deps")],
        "layer-dirs",
        "has no '='; write name=path",
    ),
    (
        &[("layer-dirs", "deps=no/such/dir")],
        "layer-dirs",
        "does not exist",
    ),
    (
        &[("layer-dirs", "my.deps=.")],
        "layer-dirs",
        "is not a layer name",
    ),
    (
        &[("layer-dirs", "deps=.\ndeps=.")],
        "layer-dirs",
        "layer 'deps' is given twice",
    ),
    (
        &[("traffic-shift", "canary 100% 5m")],
        "traffic-shift",
        "is not a percentage from 1",
    ),
    (
        &[("traffic-shift", "linear 10% 5m")],
        "traffic-shift",
        "is not a traffic shift; use `all-at-once`, `canary <P>",
    ),
    (
        &[("publish", "false"), ("traffic-shift", "canary 10% 1m")],
        "traffic-shift",
        "set publish: true or traffic-shift: all-at-once",
    ),
    (
        &[("alarms", "hello-errors")],
        "alarms",
        "are read only during a gradual shift",
    ),
];

#[test]
fn each_bad_input_is_named_and_changes_nothing() {
    let name = unique("badinput");
    let dir = example_copy("python-hello");
    let d = path_str(dir.path());
    let role = role();
    deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
            ("alias", "live"),
        ],
        &[],
        &[],
    )
    .assert_ok();
    std::fs::write(
        dir.path().join("app.py"),
        "def handler(e, c):\n    return 'changed'\n",
    )
    .expect("write");
    let before = snapshot(&name);

    for (extra, input, words) in CASES {
        let mut inputs = vec![("function-name", name.as_str()), ("source-dir", d.as_str())];
        inputs.extend_from_slice(extra);
        let run = deploy(&inputs, &[("GITHUB_ACTIONS", "true")], &[]);
        let stdout = run.stdout();
        assert!(!run.ok(), "{extra:?} must fail");
        let annotation = stdout
            .lines()
            .find(|l| l.starts_with(&format!("::error title=lambda-deploy%3A input {input}::")));
        let Some(annotation) = annotation else {
            panic!(
                "{extra:?}: no error annotation naming input {input}:\n{stdout}\n{}",
                run.stderr()
            );
        };
        assert!(
            annotation.contains(&format!("input {input}: ")),
            "{annotation}"
        );
        assert!(
            annotation.contains(words),
            "{extra:?}: expected '{words}' in {annotation}"
        );
        assert!(
            !stdout.contains("::group::"),
            "{extra:?}: no phase may start after a bad input:\n{stdout}"
        );
        assert_eq!(snapshot(&name), before, "{extra:?} changed the function");
    }
}

#[test]
fn all_bad_inputs_are_reported_together() {
    let name = unique("many");
    let run = deploy(
        &[
            ("function-name", &name),
            ("memory-size", "1"),
            ("timeout", "0"),
            ("alias", "a.b"),
        ],
        &[],
        &[],
    );
    assert!(!run.ok());
    let err = run.stderr();
    for input in ["source-dir", "memory-size", "timeout", "alias"] {
        assert!(
            err.contains(&format!("error: input {input}: ")),
            "{input} missing from:\n{err}"
        );
    }
    assert!(!snapshot(&name).exists);
}

#[test]
fn missing_function_name_and_unknown_inputs() {
    let dir = example_copy("python-hello");
    let d = path_str(dir.path());
    let run = deploy(&[("source-dir", &d), ("functon-name", "typo")], &[], &[]);
    assert!(!run.ok());
    let err = run.stderr();
    assert!(
        err.contains("error: input function-name: is required"),
        "{err}"
    );
    assert!(
        err.contains("INPUT_FUNCTON-NAME is not an input of lambda-deploy"),
        "{err}"
    );
}

#[test]
fn symlink_leaving_source_dir_is_refused_before_any_change() {
    let name = unique("symlink");
    let dir = example_copy("python-hello");
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("leak")).expect("symlink");
    let d = path_str(dir.path());
    let role = role();
    let run = deploy(
        &[
            ("function-name", &name),
            ("source-dir", &d),
            ("runtime", "python3.12"),
            ("handler", "app.handler"),
            ("role", &role),
        ],
        &[],
        &[],
    );
    assert!(!run.ok());
    assert!(run.stderr().contains("'leak'"), "{}", run.stderr());
    assert!(!snapshot(&name).exists);
}

/// A job without a region or credentials must say which is missing and how to provide
/// it, not print the SDK's provider chain.
#[test]
fn missing_region_or_credentials_is_one_clear_error() {
    let name = unique("nocreds");
    let dir = example_copy("python-hello");
    let d = path_str(dir.path());
    let role = role();
    let inputs = [
        ("function-name", name.as_str()),
        ("source-dir", d.as_str()),
        ("runtime", "python3.12"),
        ("handler", "app.handler"),
        ("role", role.as_str()),
    ];

    let run = deploy(
        &inputs,
        &[("AWS_REGION", ""), ("AWS_DEFAULT_REGION", "")],
        &[],
    );
    assert!(!run.ok());
    assert!(
        run.stderr()
            .contains("error: no AWS region is set; set AWS_REGION"),
        "{}",
        run.stderr()
    );

    let run = deploy(
        &inputs,
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
        &[],
    );
    assert!(!run.ok());
    let err = run.stderr();
    assert!(err.contains("error: no AWS credentials found"), "{err}");
    assert!(err.contains("configure-aws-credentials"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    assert!(!snapshot(&name).exists);
}
