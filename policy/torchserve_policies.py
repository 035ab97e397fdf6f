"""torchserve-deploy's exposure and hardening rules as CrossGuard policies (a plain module: the pack's
__main__.py and the tests import it).

Resource policies read a resource's inputs (`args.props`, camelCase as the provider names them); stack
policies read every resource's outputs after `pulumi up` (or the preview's, with unknowns). Each violation
names the resource and says how to fix it. Reading an unknown value raises pulumi_policy's
UnknownValueError: the pack then reports "can't run during preview" and checks again at `up`.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import ipaddress
import json
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import yaml
from pulumi_policy import (
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANAGEMENT_PORTS = (8081, 7071)  # TorchServe management (HTTP, gRPC): loopback only, never in an ingress rule
SERVING_PORTS = (8080, 8082, 7070, 8090)  # inference, metrics, gRPC inference, health: LB SG or private ranges
SSH_PORT = 22
LOOPBACK = ("127.0.0.1", "::1")
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"))
TLS_POLICY_PREFIXES = ("ELBSecurityPolicy-TLS13-1-2", "ELBSecurityPolicy-TLS13-1-3")
TLS12_POLICIES = frozenset({  # TLS 1.2+ policies without a TLS13 prefix
    "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
    "ELBSecurityPolicy-FS-1-2-2019-08", "ELBSecurityPolicy-FS-1-2-Res-2019-08", "ELBSecurityPolicy-FS-1-2-Res-2020-10"})
RECOMMENDED_TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"

CONTAINER = "docker:index/container:Container"
COMMAND = "command:local:Command"
INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
VOLUME = "aws:ebs/volume:Volume"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


class Resource(Protocol):
    """What a check needs of ResourceValidationArgs and PolicyResource alike."""

    resource_type: str
    name: str
    urn: str
    props: Mapping[str, Any]


def _fail(report: ReportViolation, res: Resource, problem: str, fix: str, *, stack: bool = False) -> None:
    report(f"{res.name} ({res.resource_type}): {problem}. Fix: {fix}.", res.urn if stack else None)


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _items(value: Any) -> list[Any]:
    """A list-valued prop as a list (absent: empty; a lone mapping: one item)."""
    if value is None:
        return []
    if isinstance(value, (Mapping, str)):
        return [value]
    return list(value) if isinstance(value, Sequence) else [value]


def is_public(cidr: str) -> bool:
    """True unless `cidr` lies inside a private range (an unparsable CIDR counts as public)."""
    try:
        net = ipaddress.ip_network(str(cidr).strip(), strict=False)
    except ValueError:
        return True
    return not any(net.version == p.version and net.subnet_of(p) for p in PRIVATE_RANGES)  # type: ignore[arg-type]


# ---- user data and config.properties ----------------------------------------------------------------------

def user_data(res: Resource) -> str:
    """An instance's or launch template's user data as text (launch templates take it base64-encoded)."""
    props = res.props
    if res.resource_type == INSTANCE and props.get("userData"):
        return str(props["userData"])
    raw = props.get("userDataBase64") if res.resource_type == INSTANCE else props.get("userData")
    if not raw:
        return ""
    try:
        return base64.b64decode(str(raw), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return str(raw)


def user_data_files(text: str) -> Iterator[tuple[str, str]]:
    """(path, content) of each cloud-config write_files entry, then ("runcmd"/"bootcmd", command) entries;
    a user-data script that is not cloud-config comes back whole as ("user-data", text)."""
    if not text.lstrip().startswith("#cloud-config"):
        if text:
            yield "user-data", text
        return
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        doc = None
    if not isinstance(doc, dict):
        yield "user-data", text  # not parsable as cloud-config: scan it as a script
        return
    for f in doc.get("write_files") or []:
        content = f.get("content", "")
        encoding = str(f.get("encoding", "")).lower()
        if encoding in ("b64", "base64"):
            content = base64.b64decode(content).decode("utf-8", "replace")
        elif encoding in ("gz+b64", "gz+base64", "gzip+b64", "gzip+base64"):
            content = gzip.decompress(base64.b64decode(content)).decode("utf-8", "replace")
        yield str(f.get("path", "")), str(content)
    for key in ("bootcmd", "runcmd"):
        for cmd in doc.get(key) or []:
            yield key, cmd if isinstance(cmd, str) else shlex.join(str(c) for c in cmd)


def command_lines(text: str) -> Iterator[list[str]]:
    """argv of each line of a script or unit that runs `docker run` (systemd Exec lines unescaped)."""
    for line in text.replace("\\\n", " ").splitlines():
        line = line.strip()
        if "docker" not in line or "run" not in line:
            continue
        if line.startswith("Exec") and "=" in line:
            line = line.split("=", 1)[1].lstrip("-@+!:").replace("$$", "$").replace("%%", "%")
        try:
            argv = shlex.split(line, comments=True)
        except ValueError:
            yield ["docker", "run", "--unparsable-line", line]
            continue
        for i in range(len(argv) - 1):
            if argv[i].rsplit("/", 1)[-1] == "docker" and argv[i + 1] == "run":
                yield argv[i:]
                break


def _container_ports(spec: str) -> range:
    spec = spec.split("/")[0]
    low, _, high = spec.partition("-")
    return range(int(low), int(high or low) + 1)


def docker_run_exposures(argv: list[str]) -> Iterator[str]:
    """Why this `docker run` puts a management port beyond loopback (nothing when it does not)."""
    for i, arg in enumerate(argv):
        if arg.startswith("--unparsable"):
            yield f"a docker run line cannot be parsed: {argv[-1]!r}"
        elif arg in ("-P", "--publish-all"):
            yield f"{arg} publishes every exposed port (management included) on all interfaces"
        elif arg in ("--network=host", "--net=host") or (arg in ("--network", "--net") and argv[i + 1:i + 2] == ["host"]):
            yield "host networking puts every TorchServe port on the host's interfaces"
        spec = None
        if arg in ("-p", "--publish") and i + 1 < len(argv):
            spec = argv[i + 1]
        elif arg.startswith("--publish="):
            spec = arg.split("=", 1)[1]
        elif arg.startswith("-p") and len(arg) > 2 and not arg.startswith("--"):
            spec = arg[2:]
        if spec is None:
            continue
        if spec.startswith("["):
            ip, _, rest = spec[1:].partition("]:")
            parts = rest.split(":")
        else:
            parts = spec.split(":")
            ip = parts[0] if len(parts) == 3 else "0.0.0.0"
        try:
            ports = _container_ports(parts[-1])
        except ValueError:
            yield f"publish spec {spec!r} cannot be parsed"
            continue
        for port in MANAGEMENT_PORTS:
            if port in ports and ip not in LOOPBACK:
                yield f"--publish {spec} puts container port {port} on {ip or '0.0.0.0'}"


def task_containers(res: Resource) -> list[dict[str, Any]]:
    """An ECS task definition's containerDefinitions (a JSON string of the ECS API's shape)."""
    raw = res.props.get("containerDefinitions")
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError:
        return []
    return [c for c in _items(value) if isinstance(c, dict)]


def config_properties(res: Resource) -> Iterator[tuple[str, str]]:
    """(where, text) of each TorchServe config.properties the resource ships."""
    props = res.props
    if res.resource_type == CONTAINER:
        for up in _items(props.get("uploads")):
            if str(up.get("file", "")).endswith("config.properties"):
                content = up.get("content")
                if content is None and up.get("contentBase64"):
                    content = base64.b64decode(str(up["contentBase64"])).decode("utf-8", "replace")
                yield f"upload {up.get('file')}", str(content or "")
    elif res.resource_type == COMMAND and "config.properties" in str(props.get("create", "")) and "stdin" in props:
        yield "command stdin", str(props.get("stdin") or "")
    elif res.resource_type in (INSTANCE, LAUNCH_TEMPLATE):
        for path, content in user_data_files(user_data(res)):
            if path.endswith("config.properties"):
                yield f"user-data file {path}", content
    elif res.resource_type == TASK_DEFINITION:  # ECS cannot place files: the config travels in the environment
        for c in task_containers(res):
            for env in _items(c.get("environment")):
                if isinstance(env, dict) and env.get("name") == "TS_CONFIG_PROPERTIES":
                    yield f"container {c.get('name')} environment", str(env.get("value") or "")


def parse_properties(text: str) -> dict[str, str]:
    props: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")) and "=" in line:
            key, _, value = line.partition("=")
            props[key.strip()] = value.strip()
    return props


def config_problems(text: str) -> Iterator[str]:
    props = parse_properties(text)
    if props.get("enable_model_api", "false").lower() == "true":
        yield "enable_model_api=true lets management callers register models from URLs"
    urls = props.get("allowed_urls")
    if urls is None:
        yield "no allowed_urls (TorchServe's default also allows http(s) URLs)"
    elif any(not u.strip().startswith("file://") or "|" in u for u in urls.split(",")):
        yield f"allowed_urls={urls} allows more than file:// URLs"


# ---- resource validations ----------------------------------------------------------------------------------

def management_ports_loopback_only(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == CONTAINER:
        if props.get("networkMode") == "host":
            _fail(report, args, "networkMode host puts management (8081/7071) on the host's interfaces",
                  "use the default bridge network and publish ports explicitly")
        for p in _items(props.get("ports")):
            internal, ip = int(p.get("internal", 0)), p.get("ip") or "0.0.0.0"
            if internal in MANAGEMENT_PORTS and ip not in LOOPBACK:
                _fail(report, args, f"container port {internal} is published on {ip}",
                      f"publish {internal} on 127.0.0.1 only (ip: 127.0.0.1)")
    elif args.resource_type == TASK_DEFINITION:
        if props.get("networkMode") == "host":
            _fail(report, args, "networkMode host puts management (8081/7071) on the instance's interfaces",
                  "use bridge networking and map only inference and health")
        for c in task_containers(args):
            for p in _items(c.get("portMappings")):
                if int(p.get("containerPort", 0)) in MANAGEMENT_PORTS:
                    _fail(report, args, f"container {c.get('name')} maps port {p.get('containerPort')}",
                          "never map 8081 or 7071 in a task (ECS has no loopback-only mapping)")
    elif args.resource_type in (INSTANCE, LAUNCH_TEMPLATE, COMMAND):
        texts = ([("create", str(props.get("create", "")))] if args.resource_type == COMMAND
                 else user_data_files(user_data(args)))
        for path, content in texts:
            for argv in command_lines(content):
                for why in docker_run_exposures(argv):
                    _fail(report, args, f"{path}: {why}",
                          "publish 8081 and 7071 as --publish 127.0.0.1:<port>:<port> only")


def torchserve_config_locked_down(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for where, text in config_properties(args):
        for problem in config_problems(text):
            _fail(report, args, f"config.properties ({where}): {problem}",
                  "set enable_model_api=false and allowed_urls=file://<model_store>/.*")


def imdsv2_required(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type not in (INSTANCE, LAUNCH_TEMPLATE):
        return
    meta = args.props.get("metadataOptions") or {}
    if meta.get("httpTokens") != "required" and meta.get("httpEndpoint") != "disabled":
        _fail(report, args, f"metadataOptions.httpTokens is {meta.get('httpTokens')!r} (IMDSv1 allowed)",
              'set metadata_options.http_tokens="required" (and http_put_response_hop_limit=1)')


def no_public_ip_on_hosts(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == INSTANCE and not _false(props.get("associatePublicIpAddress")):
        _fail(report, args, f"associatePublicIpAddress is {props.get('associatePublicIpAddress')!r}, not false "
              "(hosts take the subnet's default otherwise)",
              "set associate_public_ip_address=False and reach the host through the load balancer or SSM")
    if args.resource_type == LAUNCH_TEMPLATE:
        for i, ni in enumerate(_items(props.get("networkInterfaces"))):
            if _true(ni.get("associatePublicIpAddress")):
                _fail(report, args, f"networkInterfaces[{i}].associatePublicIpAddress is true",
                      'set associate_public_ip_address="false" and use private subnets')


def volumes_encrypted(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props, fix = args.props, "set encrypted=True (optionally kms_key_id)"
    if args.resource_type == VOLUME and not _true(props.get("encrypted")):
        _fail(report, args, "the EBS volume is not encrypted", fix)
    elif args.resource_type == INSTANCE:
        if not _true((props.get("rootBlockDevice") or {}).get("encrypted")):
            _fail(report, args, "rootBlockDevice.encrypted is not true", "set root_block_device.encrypted=True")
        for i, dev in enumerate(_items(props.get("ebsBlockDevices"))):
            if not _true(dev.get("encrypted")):
                _fail(report, args, f"ebsBlockDevices[{i}] is not encrypted", fix)
    elif args.resource_type == LAUNCH_TEMPLATE:
        for i, bdm in enumerate(_items(props.get("blockDeviceMappings"))):
            ebs = bdm.get("ebs")
            if ebs is not None and not _true(ebs.get("encrypted")):
                _fail(report, args, f"blockDeviceMappings[{i}].ebs.encrypted is not true", 'set ebs.encrypted="true"')


@dataclass(frozen=True)
class Ingress:
    where: str
    ports: range | None  # None: not a port protocol (icmp ...)
    cidrs: tuple[str, ...]


def _port_range(protocol: Any, low: Any, high: Any) -> range | None:
    proto = str(protocol).lower()
    if proto in ("-1", "all"):
        return range(0, 65536)
    if proto in ("tcp", "udp", "6", "17"):
        low = 0 if low is None else int(low)
        return range(low, (65535 if high is None else int(high)) + 1)
    return None


def ingress_rules(res: Resource) -> Iterator[Ingress]:
    props = res.props
    if res.resource_type == SG_INGRESS:
        cidrs = tuple(str(props[k]) for k in ("cidrIpv4", "cidrIpv6") if props.get(k))
        yield Ingress("rule", _port_range(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort")), cidrs)
    elif (res.resource_type == SG_RULE and props.get("type") == "ingress") or res.resource_type == SG:
        rules = [props] if res.resource_type == SG_RULE else _items(props.get("ingress"))
        for i, r in enumerate(rules):
            cidrs = tuple(str(c) for k in ("cidrBlocks", "ipv6CidrBlocks") for c in _items(r.get(k)))
            where = "rule" if res.resource_type == SG_RULE else f"ingress[{i}]"
            yield Ingress(where, _port_range(r.get("protocol"), r.get("fromPort"), r.get("toPort")), cidrs)


def _describe(rule: Ingress) -> str:
    ports = "no ports" if rule.ports is None else (
        "all ports" if len(rule.ports) == 65536 else f"ports {rule.ports.start}-{rule.ports.stop - 1}")
    return f"{rule.where} ({ports} from {', '.join(rule.cidrs) or 'a security group or prefix list'})"


def no_management_port_ingress(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for rule in ingress_rules(args):
        hit = [p for p in MANAGEMENT_PORTS if rule.ports is not None and p in rule.ports]
        if hit:
            _fail(report, args, f"{_describe(rule)} opens management port(s) {hit}",
                  "never open 8081/7071 in a security group (they are bound to loopback); narrow the port range")


def no_public_ssh(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for rule in ingress_rules(args):
        public = [c for c in rule.cidrs if is_public(c)]
        if rule.ports is not None and SSH_PORT in rule.ports and public:
            _fail(report, args, f"{_describe(rule)} opens SSH to public range(s) {public}",
                  "use Session Manager, or allow 22 from private admin CIDRs only (sshCidrs)")


def serving_ports_private(args: ResourceValidationArgs, report: ReportViolation) -> None:
    for rule in ingress_rules(args):
        public = [c for c in rule.cidrs if is_public(c)]
        hit = [p for p in SERVING_PORTS if rule.ports is not None and p in rule.ports]
        if hit and public:
            _fail(report, args, f"{_describe(rule)} opens {hit} to public range(s) {public}",
                  "reach TorchServe through the load balancer's security group (referenced_security_group_id) "
                  "or private CIDRs only")


# ---- stack validations --------------------------------------------------------------------------------------

def _referenced(res: Any, prop: str, candidates: list[Any]) -> Any | None:
    """The candidate `res.props[prop]` points at: by the engine's property dependencies, else by value
    (an ARN, ID or bucket name)."""
    for dep in (getattr(res, "property_dependencies", None) or {}).get(prop, []):
        if any(dep is c for c in candidates):
            return dep
    value = res.props.get(prop)
    if value is None:
        return None
    for c in candidates:
        if value in (c.props.get("arn"), c.props.get("id"), c.props.get("bucket")):
            return c
    return None


def _redirects_to_https(actions: Any) -> bool:
    acts = _items(actions)
    return bool(acts) and all(a.get("type") == "redirect" and str((a.get("redirect") or {}).get("protocol", "")).upper()
                              == "HTTPS" for a in acts)


def _tls12(policy: Any) -> bool:
    return isinstance(policy, str) and (policy.startswith(TLS_POLICY_PREFIXES) or policy in TLS12_POLICIES)


def internet_listeners_https_only(args: StackValidationArgs, report: ReportViolation) -> None:
    lbs = [r for r in args.resources if r.resource_type in LOAD_BALANCERS]
    listeners = [r for r in args.resources if r.resource_type in LISTENERS]
    public_http: list[Any] = []
    for listener in listeners:
        lb = _referenced(listener, "loadBalancerArn", lbs)
        if lb is not None and _true(lb.props.get("internal")):
            continue  # provably internal; an unresolvable load balancer counts as internet-facing
        protocol = str(listener.props.get("protocol", "")).upper()
        if protocol == "HTTPS":
            if not _tls12(listener.props.get("sslPolicy")):
                _fail(report, listener, f"sslPolicy {listener.props.get('sslPolicy')!r} allows TLS below 1.2",
                      f"set ssl_policy={RECOMMENDED_TLS_POLICY!r}", stack=True)
        elif protocol == "HTTP" and _redirects_to_https(listener.props.get("defaultActions")):
            public_http.append(listener)
        else:
            _fail(report, listener, f"a {protocol or 'default-protocol'} listener on an internet-facing load balancer "
                  "that does not only redirect to HTTPS",
                  f"use protocol HTTPS with ssl_policy={RECOMMENDED_TLS_POLICY!r}, or make its only default action a "
                  "redirect to HTTPS", stack=True)
    for rule in (r for r in args.resources if r.resource_type in LISTENER_RULES):
        if _referenced(rule, "listenerArn", public_http) is not None and not _redirects_to_https(rule.props.get("actions")):
            _fail(report, rule, "a rule on a plain-HTTP internet-facing listener serves instead of redirecting",
                  "attach the rule to the HTTPS listener", stack=True)


def _checks_a_key(rule: Any) -> bool:
    """A listener rule that forwards only requests carrying an Authorization header value it names."""
    for condition in _items(rule.props.get("conditions")):
        header = condition.get("httpHeader") if isinstance(condition, Mapping) else None
        if isinstance(header, Mapping) and str(header.get("httpHeaderName", "")).lower() == "authorization" \
                and _items(header.get("values")) and not any("*" in str(v) or "?" in str(v) for v in header["values"]):
            return True
    return False


def token_auth_unless_edge(args: StackValidationArgs, report: ReportViolation) -> None:
    edge = any(r.resource_type in LISTENER_RULES and _checks_a_key(r) for r in args.resources)
    for res in args.resources:
        if res.resource_type not in (INSTANCE, LAUNCH_TEMPLATE, TASK_DEFINITION) or edge:
            continue
        for where, text in config_properties(res):
            if parse_properties(text).get("disable_token_authorization", "false").lower() == "true":
                _fail(report, res, f"config.properties ({where}): token authorization is off on a cloud host and no "
                      "edge listener rule checks a key", "keep tokenAuth true, or put the edge in front (edge: alb)",
                      stack=True)


def denies_insecure_transport(policy: Any) -> bool:
    """True when the bucket policy document denies every principal every s3 action without TLS."""
    try:
        doc = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return False
    if not isinstance(doc, Mapping):
        return False
    for st in _items(doc.get("Statement")):
        if not isinstance(st, Mapping) or st.get("Effect") != "Deny":
            continue
        principal = st.get("Principal")
        everyone = principal == "*" or (isinstance(principal, Mapping) and "*" in _items(principal.get("AWS")))
        actions = {str(a).lower() for a in _items(st.get("Action"))}
        bools = {str(k).lower(): v for k, v in ((st.get("Condition") or {}).get("Bool") or {}).items()}
        insecure = any(str(v).lower() == "false" for v in _items(bools.get("aws:securetransport")))
        if everyone and actions & {"s3:*", "*"} and insecure:
            return True
    return False


def buckets_tls_only(args: StackValidationArgs, report: ReportViolation) -> None:
    buckets = [r for r in args.resources if r.resource_type in BUCKETS]
    policies = [r for r in args.resources if r.resource_type == BUCKET_POLICY]
    blocks = [r for r in args.resources if r.resource_type == PUBLIC_ACCESS_BLOCK]
    for bucket in buckets:
        docs = [p.props.get("policy") for p in policies if _referenced(p, "bucket", buckets) is bucket]
        if bucket.props.get("policy"):
            docs.append(bucket.props.get("policy"))
        if not any(denies_insecure_transport(d) for d in docs):
            _fail(report, bucket, "no bucket policy denies requests without TLS",
                  'add an aws.s3.BucketPolicy with {"Effect": "Deny", "Principal": "*", "Action": "s3:*", '
                  '"Resource": [<arn>, <arn>/*], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}', stack=True)
        mine = [b for b in blocks if _referenced(b, "bucket", buckets) is bucket]
        if not any(all(_true(b.props.get(f)) for f in PUBLIC_ACCESS_FLAGS) for b in mine):
            _fail(report, bucket, "no public access block with all four flags true",
                  "add an aws.s3.BucketPublicAccessBlock with " + ", ".join(PUBLIC_ACCESS_FLAGS) + " all True",
                  stack=True)


def ecs_tasks_hardened(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every container of a task: read-only root, no capabilities, not privileged, not root."""
    if args.resource_type != TASK_DEFINITION:
        return
    for c in task_containers(args):
        name = c.get("name")
        if c.get("privileged") is True:
            _fail(report, args, f"container {name} is privileged", "remove privileged")
        if c.get("readonlyRootFilesystem") is not True:
            _fail(report, args, f"container {name} has a writable root filesystem",
                  "set readonlyRootFilesystem true with tmpfs where it writes")
        drop = (c.get("linuxParameters") or {}).get("capabilities", {}).get("drop") or []
        if "ALL" not in drop:
            _fail(report, args, f"container {name} keeps Linux capabilities", "drop ALL (linuxParameters.capabilities)")
        if str(c.get("user", "root")).split(":")[0] in ("", "0", "root"):
            _fail(report, args, f"container {name} runs as root", "set user 1000:1000")


POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [
    ResourceValidationPolicy(name="management-ports-loopback-only", validate=management_ports_loopback_only,
                             description="TorchServe management (8081) and gRPC management (7071) are published on "
                                         "127.0.0.1 only: Docker containers and `docker run` in host user data."),
    ResourceValidationPolicy(name="torchserve-config-locked-down", validate=torchserve_config_locked_down,
                             description="Every shipped config.properties keeps enable_model_api off and allowed_urls "
                                         "file:// only."),
    ResourceValidationPolicy(name="imdsv2-required", validate=imdsv2_required,
                             description="Instances and launch templates require IMDSv2 (httpTokens required)."),
    ResourceValidationPolicy(name="no-public-ip-on-hosts", validate=no_public_ip_on_hosts,
                             description="GPU hosts get no public IP: instances say associatePublicIpAddress false, "
                                         "launch templates never ask for one."),
    ResourceValidationPolicy(name="volumes-encrypted", validate=volumes_encrypted,
                             description="EBS volumes, instance root/EBS devices and launch-template EBS mappings are "
                                         "encrypted."),
    ResourceValidationPolicy(name="no-management-port-ingress", validate=no_management_port_ingress,
                             description="No security-group ingress rule covers 8081 or 7071, from anywhere."),
    ResourceValidationPolicy(name="no-public-ssh", validate=no_public_ssh,
                             description="No security-group ingress rule opens 22 (or all ports) to a public range."),
    ResourceValidationPolicy(name="serving-ports-private", validate=serving_ports_private,
                             description="Inference, metrics, gRPC inference and health ports are reachable only from "
                                         "the load balancer's security group or private ranges."),
    ResourceValidationPolicy(name="ecs-tasks-hardened", validate=ecs_tasks_hardened,
                             description="ECS task containers run with a read-only root, no capabilities, not "
                                         "privileged and not as root."),
    StackValidationPolicy(name="internet-listeners-https-only", validate=internet_listeners_https_only,
                          description="Listeners of internet-facing load balancers are HTTPS with a TLS 1.2+ policy, "
                                      "or HTTP that only redirects to HTTPS."),
    StackValidationPolicy(name="token-auth-unless-edge", validate=token_auth_unless_edge,
                          description="TorchServe's token authorization stays on for cloud hosts unless an edge "
                                      "listener rule checks an exact Authorization key in front of them."),
    StackValidationPolicy(name="buckets-tls-only", validate=buckets_tls_only,
                          description="Every S3 bucket has a policy denying non-TLS requests and a public access "
                                      "block with all four flags on."),
]
