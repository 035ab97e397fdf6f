"""Conformance of the offline harness (infra/pulumi_cli) with the Pulumi CLI and engine: the cases of Pulumi's own
tests for the code the harness reproduces, ported with their inputs and expected results. Each test names the
upstream file and test it comes from (pulumi/pulumi at pkg/v3.259.0-14, 1b59498; go-yaml/yaml v3.0.1)."""
from __future__ import annotations

import json
import math

import pytest

from infra.pulumi_cli import goyaml
from infra.pulumi_cli.config_map import config_set, decrypt, get, parse_path, path_string, secure_keys, set_value
from infra.pulumi_cli.project import EscSecret, base64_crypter, load_project, load_stack, merge_config
from infra.pulumi_cli.values import ConfigError, Value, go_json

ENC, DEC = base64_crypter()


def merged(project_yaml: str, stack_yaml: str, environment=None, validate=True):
    project = load_project(project_yaml)
    stack = load_stack(project, stack_yaml)
    merge_config("dev", project, stack.config, environment=environment, encrypt=ENC, decrypt=DEC, validate=validate)
    return stack.config


def plain(config) -> dict[str, str]:
    return decrypt(config, DEC)


# --- pkg/workspace/config_project_test.go --------------------------------------------------------------

def test_TestStackConfigIsInheritedFromProjectConfig():
    config = merged("name: test\nruntime: dotnet\nconfig:\n  instanceSize: t3.micro\n  instanceCount: 20\n"
                    "  protect: true", "config:\n  test:instanceSize: t4.large")
    assert plain(config) == {"test:instanceSize": "t4.large", "test:instanceCount": "20", "test:protect": "true"}


def test_TestNamespacedConfigValuesAreInheritedCorrectly():
    config = merged('name: test\nruntime: dotnet\nconfig:\n  aws:region: us-west-1\n'
                    '  pulumi:disable-default-providers: ["*"]\n  instanceSize: t3.micro',
                    "config:\n  test:instanceSize: t4.large")
    assert plain(config) == {"test:instanceSize": "t4.large", "aws:region": "us-west-1",
                             "pulumi:disable-default-providers": '["*"]'}
    assert json.loads(plain(config)["pulumi:disable-default-providers"]) == ["*"]


def test_TestLoadingStackConfigWithoutNamespacingTheProject():
    config = merged("name: test\nruntime: dotnet\nconfig:\n  aws:region: us-west-1\n  instanceSize: t3.micro",
                    "config:\n  instanceSize: t4.large")
    assert plain(config) == {"test:instanceSize": "t4.large", "aws:region": "us-west-1"}


def test_TestUntypedProjectConfigValuesAreNotValidated():
    config = merged("name: test\nruntime: dotnet\nconfig:\n  instanceSize: t3.micro\n  aws:region: us-west-1",
                    "config:\n  instanceSize: 9999\n  aws:region: 42")
    assert plain(config) == {"test:instanceSize": "9999", "aws:region": "42"}


def test_TestUntypedProjectConfigValuesWithOnlyDefaultOrOnlyValue():
    config = merged("name: test\nruntime: dotnet\nconfig:\n  instanceSize:\n    default: t3.micro\n"
                    "  region:\n    value: us-west-1", "config:\n  aws:answer: 42")
    assert plain(config) == {"test:instanceSize": "t3.micro", "test:region": "us-west-1", "aws:answer": "42"}


def test_TestUntypedStackConfigValuesDoNeedProjectDeclaration():
    config = merged("name: test\nruntime: dotnet\nconfig:\n  createVpc: true", "config:\n  instanceSize: 42")
    assert plain(config) == {"test:instanceSize": "42", "test:createVpc": "true"}


def test_TestUntypedProjectConfigObjectValuesPassedDownToStack():
    config = merged("name: test\nruntime: dotnet\nconfig:\n  instanceSize:\n    value:\n      hello: world\n"
                    "  aws:config:\n    value:\n      region: us-west-1", "config:\n  aws:whatever: 42")
    assert plain(config) == {"test:instanceSize": '{"hello":"world"}', "aws:config": '{"region":"us-west-1"}',
                             "aws:whatever": "42"}


def test_TestStackConfigErrorsWhenStackValueIsNotCorrectlyTyped():
    with pytest.raises(ConfigError, match=r"Stack 'dev' with configuration key 'values' must be of type 'array<string>'"):
        merged("name: test\nruntime: dotnet\nconfig:\n  values:\n    type: array\n    items:\n      type: string\n"
               "    default: [value]", "config:\n  test:values: someValue\n")


def test_TestStackConfigIntegerTypeIsCorrectlyValidated():
    project = "name: test\nruntime: dotnet\nconfig:\n  importantNumber:\n    type: integer\n"
    merged(project, "config:\n  test:importantNumber: 20\n")
    with pytest.raises(ConfigError, match="Stack 'dev' with configuration key 'importantNumber' must be of type 'integer'"):
        merged(project, "config:\n  test:importantNumber: hello\n")


@pytest.mark.parametrize("missing,message", [
    ("  values:\n    type: array\n    items:\n      type: string",
     "Stack 'dev' is missing configuration value 'values'"),  # ...WhenMissingStackValueForConfigTypeWithNoDefault
    ("  another:\n    type: string\n  values:\n    type: array\n    items:\n      type: string",
     "Stack 'dev' is missing configuration values 'another' and 'values'"),  # ...MissingTwoStackValue...
    ("  hello:\n    type: integer\n  values:\n    type: array\n    items:\n      type: string\n  world:\n    type: string",
     "Stack 'dev' is missing configuration values 'hello', 'values' and 'world'"),  # ...MissingMultipleStackValue...
])
def test_TestStackConfigErrorsWhenMissingStackValueForConfigTypeWithNoDefault(missing, message):
    with pytest.raises(ConfigError) as err:
        merged(f"name: test\nruntime: dotnet\nconfig:\n{missing}", "")
    assert str(err.value) == message


def test_TestStackConfigDoesNotErrorWhenProjectHasNotDefinedConfig():
    merged("name: test\nruntime: dotnet", "config:\n  hello: 21\n  world: 42\n  another: 42")


def test_TestStackConfigSecretIsCorrectlyValidated():
    project = "name: test\nruntime: dotnet\nconfig:\n  importantNumber:\n    type: integer\n    secret: true\n"
    merged(project, f"config:\n  test:importantNumber:\n    secure: {ENC('20')}\n")
    with pytest.raises(ConfigError, match="Stack 'dev' with configuration key 'importantNumber' must be encrypted as it's secret"):
        merged(project, "config:\n  test:importantNumber: 20\n")


def test_TestEnvironmentMerge():
    stack = ("config:\n  test:boolean: true\n  test:number: 42\n  test:string: foo\n  test:array:\n    - first\n"
             "    - second\n  test:object:\n    foo: bar\n    object:\n      baz: 42")
    env = {"test:boolean": False, "test:number": 42, "test:string": "esc", "test:array": ["second", "first"],
           "test:secret": EscSecret("hunter2"),
           "test:object": {"boolean": True, "number": 42, "string": "esc", "array": ["first", "second"],
                           "object": {"foo": "bar"}, "foo": "qux"}}
    config = merged("name: test\nruntime: nodejs", stack, environment=env)
    assert secure_keys(config) == ["test:secret"]
    assert plain(config) == {
        "test:array": '["first","second"]', "test:boolean": "true", "test:number": "42", "test:string": "foo",
        "test:object": '{"array":["first","second"],"boolean":true,"foo":"bar","number":42,"object":{"baz":42,'
                       '"foo":"bar"},"string":"esc"}',
        "test:secret": "hunter2"}


def test_TestStackConfigUInt64():
    config = merged("name: test\nruntime: dotnet", "config:\n  test:instanceSize: 18446744073709551615")
    assert plain(config) == {"test:instanceSize": "18446744073709551615"}


# --- pkg/workspace/config_test.go TestValidateStackConfigValues ------------------------------------------

def test_TestValidateStackConfigValues_typed_config_validates():
    project = load_project("name: testProject\nconfig:\n  testInt:\n    type: integer\n  testNested1.float:\n"
                           "    type: integer\n  testNested2.bool:\n    type: boolean\n  testSecret:\n    type: string\n"
                           "    secret: true")
    config = {"testProject:testInt": Value("1", typ="int"), "testProject:testNested1": Value('{"float":1.0}', object=True),
              "testProject:testNested2": Value('{"bool":true}', object=True),
              "testProject:testSecret": Value("dGVzdFZhbHVl", secure=True)}
    merge_config("stackA", project, config, encrypt=ENC, decrypt=DEC)


def test_TestValidateStackConfigValues_type_mismatch_and_secret_enforced():
    with pytest.raises(ConfigError, match="must be of type"):
        merge_config("stackX", load_project("name: proj\nconfig:\n  typeKey:\n    type: integer"),
                     {"proj:typeKey": Value("not-a-number")}, encrypt=ENC, decrypt=DEC)
    with pytest.raises(ConfigError, match="must be encrypted"):
        merge_config("stack1", load_project("name: proj\nconfig:\n  secretKey:\n    type: string\n    secret: true"),
                     {"proj:secretKey": Value("plain")}, encrypt=ENC, decrypt=DEC)


# --- sdk/go/common/workspace/project_test.go -------------------------------------------------------------

@pytest.mark.parametrize("project,message", [
    ("config:\n  instanceSize:\n    type: integer\n    default: hello",  # TestProjectValidationFailsForIncorrectDefaultValueType
     "The default value specified for configuration key 'instanceSize' is not of the expected type 'integer'"),
    ("config:\n  values:\n    type: array\n    items:\n      type: array\n      items:\n        type: string\n"
     "    default: [hello]",
     "The default value specified for configuration key 'values' is not of the expected type 'array<array<string>>'"),
    ("config:\n  aws:region:\n    type: string\n    value:\n      region: us-west-1",  # ...ShouldNotBeExplicitlyTyped
     "Configuration key 'aws:region' is not namespaced by the project and should not define a type"),
    ("config:\n  instanceSize:\n    type: string\n    default: t3.micro\n    value: t4.large",  # ...BothValueAndDefault
     "project config 'instanceSize' cannot have both a 'default' and 'value' attribute"),
    ("config:\n  instanceSize:\n    type: array\n    default: [t3.micro, t4.large]",  # ...TypedArrayWithoutItems
     "The configuration key 'instanceSize' declares an array but does not specify the underlying type via the "
     "'items' attribute"),
    ("config:\n  aws:region:\n    default: us-west-1",  # TestNamespacedProjectConfigShouldNotBeProvideDefault
     "Configuration key 'aws:region' is not namespaced by the project and should not define a default value. "
     "Did you mean to use the 'value' attribute instead of 'default'?"),
])
def test_TestProjectValidation_refusals(project, message):
    with pytest.raises(ConfigError) as err:
        load_project(f"name: test\nruntime: dotnet\n{project}")
    assert str(err.value) == message


@pytest.mark.parametrize("project", [
    "config:\n  example:\n    type: object\n    default:\n      hello: world",  # ...SucceedsForObjectConfigType
    "config:\n  instanceSize:\n    type: integer\n    default: 1",  # ...SucceedsForCorrectDefaultValueType
    "config:\n  values:\n    type: array\n    items:\n      type: array\n      items:\n        type: string\n"
    "    default: [[hello]]",
])
def test_TestProjectValidation_accepted(project):
    load_project(f"name: test\nruntime: dotnet\n{project}")


# --- sdk/go/common/resource/config/map_test.go ------------------------------------------------------------

SET_SUCCESS = [  # TestSetSuccess: (key, value, path, config before, config after)
    ("my:testKey", Value("testValue"), False, {}, {"my:testKey": Value("testValue")}),
    ("my:0", Value("testValue"), True, {}, {"my:0": Value("testValue")}),
    ('my:["test.Key"]', Value("testValue"), True, {}, {"my:test.Key": Value("testValue")}),
    ('my:nested["test.Key"]', Value("value"), True, {}, {"my:nested": Value('{"test.Key":"value"}', object=True)}),
    ("my:outer.inner", Value("value"), True, {"my:outer": Value("value")},
     {"my:outer": Value('{"inner":"value"}', object=True)}),
    ("my:outer.inner", Value("value"), True, {"my:outer": Value("securevalue", secure=True)},
     {"my:outer": Value('{"inner":"value"}', object=True)}),
    ("my:outer.inner", Value("true"), True, {}, {"my:outer": Value('{"inner":true}', object=True)}),
    ("my:outer.inner", Value("10"), True, {}, {"my:outer": Value('{"inner":10}', object=True)}),
    ("my:outer.inner", Value("-1"), True, {}, {"my:outer": Value('{"inner":-1}', object=True)}),
    ("my:outer.inner", Value("00"), True, {}, {"my:outer": Value('{"inner":"00"}', object=True)}),
    ("my:outer.inner", Value("0123456"), True, {}, {"my:outer": Value('{"inner":"0123456"}', object=True)}),
    ("my:array[0]", Value("value"), True, {"my:array": Value("value", secure=True)},
     {"my:array": Value('["value"]', object=True)}),
    ("my:outer.inner", Value("value"), True, {"my:outer": Value('{"existing":"existingValue"}', object=True)},
     {"my:outer": Value('{"existing":"existingValue","inner":"value"}', object=True)}),
    ("my:outer.inner", Value("securevalue", secure=True), True, {},
     {"my:outer": Value('{"inner":{"secure":"securevalue"}}', secure=True, object=True)}),
    ("my:name[0][0]", Value("value"), True, {}, {"my:name": Value('[["value"]]', object=True)}),
    ("my:name[3]", Value("value"), True, {"my:name": Value('["a","b","c"]', object=True)},
     {"my:name": Value('["a","b","c","value"]', object=True)}),
    ("my:name[3][0]nested", Value("value"), True, {"my:name": Value('["a","b","c"]', object=True)},
     {"my:name": Value('["a","b","c",[{"nested":"value"}]]', object=True)}),
    ("my:servers[0].host", Value("example"), True, {"my:servers": Value('[{"name":"foo"}]', object=True)},
     {"my:servers": Value('[{"host":"example","name":"foo"}]', object=True)}),
    ("my:name[0]", Value("securevalue", secure=True), True, {"my:name": Value('["a","b","c"]', object=True)},
     {"my:name": Value('[{"secure":"securevalue"},"b","c"]', secure=True, object=True)}),
    ("my:testKey", Value("10"), False, {}, {"my:testKey": Value("10")}),
    ("my:testKey[0]", Value("false"), True, {}, {"my:testKey": Value("[false]", object=True)}),
    ("my:key.secure", Value("value"), True, {"my:key": Value('{"bar":"baz"}', object=True)},
     {"my:key": Value('{"bar":"baz","secure":"value"}', object=True)}),
    ("my:special.object", Value('{"foo":"bar","fizz":"buzz"}', object=True), True,
     {"my:special": Value('{"thing1":1,"thing2":2}', object=True)},
     {"my:special": Value('{"object":{"fizz":"buzz","foo":"bar"},"thing1":1,"thing2":2}', object=True)}),
]


@pytest.mark.parametrize("key,value,path,before,after", SET_SUCCESS, ids=[c[0] for c in SET_SUCCESS])
def test_TestSetSuccess(key, value, path, before, after):
    config = dict(before)
    set_value(config, key, value, path)
    assert config == after


SET_FAIL = [  # TestSetFail: (key, config before, error)
    ("my:root[", {}, "invalid config key path: missing closing bracket in array index"),
    ('my:root["nested]', {}, "invalid config key path: missing closing quote in property name"),
    ("my:root.array[abc]", {}, 'invalid config key path: invalid array index: strconv.ParseInt: parsing "abc": '
                               "invalid syntax"),
    ('my:[""]', {}, "config key is empty"),
    ("my:[0]", {}, "first path segement of config key must be a string"),
    ("my:name[-1]", {}, "name[-1]: array index out of range"),
    ("my:name[4]", {"my:name": Value('["a","b","c"]', object=True)}, "name[4]: array index out of range"),
    ("my:key.secure", {}, 'maps with the single key "secure" are reserved'),
    ("my:super.nested.map.secure", {}, 'maps with the single key "secure" are reserved'),
    ("my:outer.inner", {"my:outer": Value("[1,2,3]", object=True)}, "outer.inner: key for an array must be an int"),
    ("my:array[0]", {"my:array": Value('{"inner":"value"}', object=True)}, "array[0]: key for a map must be a string"),
    ("my:outer.inner.nested", {"my:outer": Value('{"inner":"value"}', object=True)}, "outer.inner: expected a map"),
    ("my:outer.inner[0]", {"my:outer": Value('{"inner":"value"}', object=True)}, "outer.inner: expected an array"),
    ('my:root.[1]"', {}, "invalid config key path: expected property name after '.'"),
]


@pytest.mark.parametrize("key,before,error", SET_FAIL, ids=[c[0] for c in SET_FAIL])
def test_TestSetFail(key, before, error):
    with pytest.raises(ConfigError) as err:
        set_value(dict(before), key, Value("value"), path=True)
    assert str(err.value) == error


def test_TestGetSuccess_paths():
    config = {"my:outer": Value('{"inner":{"deep":[1,{"x":"y"}]}}', object=True)}
    assert get(config, "my:outer.inner.deep[1].x", path=True) == Value("y")
    assert get(config, "my:outer.inner.deep[0]", path=True) == Value("1")
    assert get(config, "my:outer.missing", path=True) is None and get(config, "my:nothing.x", path=True) is None


# --- sdk/go/common/resource/properties_path_test.go TestPropertyPath -------------------------------------

@pytest.mark.parametrize("text,parsed,printed", [
    ("root", ["root"], "root"),
    ('root["nested"]', ["root", "nested"], "root.nested"),
    ('root["double"]["nest"]', ["root", "double", "nest"], "root.double.nest"),
    ("root.array[1]", ["root", "array", 1], "root.array[1]"),
    ('root["key with \\"escaped\\" quotes"]', ["root", 'key with "escaped" quotes'],
     'root["key with \\"escaped\\" quotes"]'),
    ('root["key with a ."]', ["root", "key with a ."], 'root["key with a ."]'),
    ('["root key with a ."][1]', ["root key with a .", 1], '["root key with a ."][1]'),
    ("root.array[*].field", ["root", "array", "*", "field"], 'root.array["*"].field'),
])
def test_TestPropertyPath(text, parsed, printed):
    assert parse_path(text) == parsed and path_string(parsed) == printed


# --- go-yaml v3 resolve (decode_test.go unmarshalTests, decoding into interface{}) -------------------------

@pytest.mark.parametrize("text,value", [
    ("v: hi", "hi"), ("v: true", True), ("v: True", True), ("v: yes", "yes"), ("v: on", "on"), ("v: off", "off"),
    ("v: 10", 10), ("v: 0b10", 2), ("v: 0xA", 10), ("v: 0o17", 15), ("v: 017", 15), ("v: -10", -10),
    ("v: 4294967296", 4294967296), ("v: 0.1", 0.1), ("v: .1", 0.1), ("v: .Inf", math.inf), ("v: -.Inf", -math.inf),
    ("v: 1e3", 1000.0), ("v: 1_000", 1000), ("v: ~", None), ("v: null", None), ("v:", None), ("v: '10'", "10"),
    ("v: 18446744073709551615", 18446744073709551615), ("v: 18446744073709551616", 18446744073709551616.0),
    ("v: 1:30", "1:30"), ("v: !!str 10", "10"), ("v: !!float 1", 1.0),
])
def test_yaml_v3_resolve(text, value):
    assert goyaml.load(text) == {"v": value}


def test_yaml_v3_refuses_a_repeated_key():
    with pytest.raises(goyaml.GoYamlError, match="mapping key 'a' already defined at line 1"):
        goyaml.load("a: 1\na: 2\n")


@pytest.mark.parametrize("text,printed", [  # time.Parse with yaml.v3's layouts, then time.Time.String()
    ("2015-02-24", "2015-02-24 00:00:00 +0000 UTC"),
    ("2001-12-14t21:59:43.10Z", "2001-12-14 21:59:43.1 +0000 UTC"),
    ("2024-01-01T00:00:00.123456789Z", "2024-01-01 00:00:00.123456789 +0000 UTC"),
    ("2024-01-01T00:00:00.1234567891Z", "2024-01-01 00:00:00.123456789 +0000 UTC"),  # more digits: the first 9
    ("2024-01-01 10:00:00,5", "2024-01-01 10:00:00.5 +0000 UTC"),  # a comma before the fraction
    ("2024-01-01   10:00:00", "2024-01-01 10:00:00 +0000 UTC"),  # a run of spaces is one
    ("2024-1-2T3:4:5+05:30", "2024-01-02 03:04:05 +0530 +0530"),
    ("0000-01-01", "0000-01-01 00:00:00 +0000 UTC"),
])
def test_yaml_v3_timestamps(text, printed):
    assert plain(load_stack(load_project("name: p"), f"config:\n  p:t: {text}\n").config) == {"p:t": printed}


@pytest.mark.parametrize("text", ["2024-02-30", "2024-13-01", "2024-01-01T00:00:00", "2024-01-01 00:00:00Z"])
def test_yaml_v3_not_timestamps(text):
    assert plain(load_stack(load_project("name: p"), f"config:\n  p:t: {text}\n").config) == {"p:t": text}


def test_yaml_v3_nan_is_unmarshalable_json():
    assert math.isnan(goyaml.load("v: .nan")["v"])
    with pytest.raises(ConfigError, match="p:n: json: unsupported value"):
        load_stack(load_project("name: p"), "config:\n  p:n: [.nan]\n")


@pytest.mark.parametrize("stack,delivered", [
    ("config:\n  p:ports: {80: http, true: on, 1.5: x}\n", {"p:ports": '{"1.5":"x","80":"http","true":"on"}'}),
    ("config:\n  p:n: -0.0\n  p:f: 4.0\n  p:g: 1e6\n", {"p:n": "0", "p:f": "4", "p:g": "1000000"}),
    ("config:\n  p:big: [18446744073709551615]\n  p:top: 18446744073709551615\n",
     {"p:big": "[18446744073709552000]", "p:top": "18446744073709551615"}),
    ("config:\n  p:a: 1\n---\nconfig:\n  p:b: 2\n", {"p:a": "1"}),  # the first document only
    ("config:\n  p:q: ! '0x10'\n  p:u: .5_0\n  p:v: .1e999\n", {"p:q": "0x10", "p:u": "0.5", "p:v": ".1e999"}),
])
def test_what_the_program_receives(stack, delivered):
    """object.go unmarshalObject (%v of a non-string key), the re-encoding in LoadProjectStackBytes (-0.0 → 0),
    Decrypt's UseNumber (an integer beyond int64 inside an object → float64), yaml.Unmarshal's first document."""
    assert plain(load_stack(load_project("name: p"), stack).config) == delivered


@pytest.mark.parametrize("stack,error", [
    ("config:\n  p:m: {<<: {a: 1}, b: 2}\n", "merge keys"),
    ("config:\n  1: x\n", "could not parse 1 as a configuration key"),
    ("config: false\n", "must be a map"),
    ("config:\n  a: 1\n  p:a: 2\n", "p:a is set twice"),
    ("config:\n  p:k:\n    ? [1, 2]\n    : x\n", "invalid map key"),
    ('config:\n  p:s: "\\ud800"\n', "invalid Unicode"),
])
def test_stack_files_the_cli_refuses(stack, error):
    with pytest.raises((ConfigError, goyaml.GoYamlError), match=error):
        load_stack(load_project("name: p"), stack)


@pytest.mark.parametrize("project,error", [
    ("config:\n  n:\n    type: integer\n    default: 9223372036854775808", "not of the expected type 'integer'"),
    ("config:\n  n:\n    type: integer\n    default: .nan", "not of the expected type 'integer'"),
    ("config:\n  s:\n    type: string\n    secret: 'false'", "secret a boolean"),
    ("config:\n  o:\n    type: object\n    default: {80: http}", "expected only string keys"),
])
def test_project_files_the_cli_refuses(project, error):
    with pytest.raises(ConfigError, match=error):
        load_project(f"name: test\n{project}")


def test_project_file_oddities_the_cli_accepts():
    assert load_project("name: test\nconfig:\n  n:\n    type: integer\n    default: .inf").config["n"].default
    assert load_project("name: test\nconfig: stacks\n").config == {}  # the old spelling of stackConfigDir
    start = load_project("name: test\nconfig:\n  start:\n    default: 2024-01-01\n")
    stack = load_stack(start, "")
    merge_config("dev", start, stack.config, encrypt=ENC, decrypt=DEC)
    assert plain(stack.config) == {"test:start": "2024-01-01T00:00:00Z"}  # json.Marshal(time.Time)


@pytest.mark.parametrize("key,path,stored", [  # pkg/cmd/pulumi/config/io.go parseConfigKey
    ("foo.bar:buzz", False, "foo.bar:buzz"), ("a.b:c", True, "p:a"), ("aws:region", True, "aws:region"),
    ("models.demo.workers", True, "p:models"), ("[0]", True, None),
])
def test_config_set_key_parsing(key, path, stored):
    config: dict = {}
    if stored is None:
        with pytest.raises(ConfigError):
            config_set(config, "p", key, "v", path=path)
        return
    config_set(config, "p", key, "v", path=path)
    assert list(config) == [stored]


def test_config_set_type_int_is_checked_when_the_file_is_saved():
    with pytest.raises(ConfigError, match="strconv.Atoi"):
        config_set({}, "p", "n", "1_000", typ="int")


@pytest.mark.parametrize("text", ["1e3", "0o17", "1_000", "017", "+5", ".5", "2024-1-2", "true", "~", "yes", "1:30"])
def test_dump_quotes_what_yaml_v3_would_read_as_another_type(text):
    assert goyaml.load(goyaml.dump({"v": text})) == {"v": text}


# --- encoding/json as Go writes it (config values handed to the language host) -----------------------------

@pytest.mark.parametrize("value,text", [
    (1.0, "1"), (1.5, "1.5"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1e-7, "1e-7"), (0.000001, "0.000001"),
    ("<a&b>", '"\\u003ca\\u0026b\\u003e"'), ({"b": 1, "a": [True, None]}, '{"a":[true,null],"b":1}'),
    ("\u2028\x01é", '"\\u2028\\u0001é"'),
])
def test_go_json(value, text):
    assert go_json(value) == text


# --- pulumi config set, then what the program reads (pkg/cmd/pulumi/config/config.go) --------------------

def test_config_set_path_writes_numbers_and_the_program_reads_them():
    project = load_project("name: torchserve-deploy\nconfig:\n  models:\n    type: object\n    default: {}")
    stack = load_stack(project, "config:\n  torchserve-deploy:models:\n    demo:\n      path: models/demo\n")
    config_set(stack.config, project.name, "models.demo.workers", "2", path=True)
    config_set(stack.config, project.name, "models.demo.train", "true", path=True)
    config_set(stack.config, project.name, "batchSize", "8")  # top level: a string unless --type
    config_set(stack.config, project.name, "workersPerModel", "3", typ="int")
    merge_config("dev", project, stack.config, encrypt=ENC, decrypt=DEC)
    values = plain(stack.config)
    assert json.loads(values["torchserve-deploy:models"]) == {"demo": {"path": "models/demo", "workers": 2, "train": True}}
    assert values["torchserve-deploy:batchSize"] == "8" and values["torchserve-deploy:workersPerModel"] == "3"
    assert stack.config["torchserve-deploy:batchSize"] == Value("8")


def test_secrets_reach_the_program_decrypted_and_listed():
    project = load_project("name: p")
    stack = load_stack(project, "config:\n  p:a: plain\n")
    config_set(stack.config, "p", "token", "s3cret", secret=True, encrypt=ENC)
    config_set(stack.config, "p", "nested.key", "s3cret2", path=True, secret=True, encrypt=ENC)
    assert plain(stack.config) == {"p:a": "plain", "p:token": "s3cret", "p:nested": '{"key":"s3cret2"}'}
    assert secure_keys(stack.config) == ["p:nested", "p:token"]


def test_an_empty_value_is_an_empty_string_with_a_warning():
    """loaders.go checkForEmptyConfig."""
    stack = load_stack(load_project("name: p"), "config:\n  p:a:\n  p:b: ~\n")
    assert plain(stack.config) == {"p:a": "", "p:b": ""}
    assert stack.warnings and 'No value for configuration keys "p:a" and "p:b"' in stack.warnings[0]
