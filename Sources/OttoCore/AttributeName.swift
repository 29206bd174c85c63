/// Attribute names shared by the code that writes a resource (site expansion), the code that reads it (its provider)
/// and the kind's schema. Each name is spelled once, here: a rename is a compile error on the side left behind, and
/// the schema check (`KindSchema.check`) fails a resource whose attribute no schema declares.
public enum AttributeName {
    /// How every host resource reaches its machine (references to the machine's own attributes), plus what the host
    /// provider adds to every resource.
    public enum Host {
        /// The machine's address (from its `ipv4`).
        public static let host = "host"
        /// SSH port.
        public static let sshPort = "ssh_port"
        /// SSH user.
        public static let sshUser = "ssh_user"
        /// Private key file for SSH.
        public static let sshKey = "ssh_key"
        /// The machine's pinned host key (null: checked against `known_hosts`).
        public static let hostKey = "host_key"
        /// known_hosts file for machines otto did not create.
        public static let knownHosts = "known_hosts"
        /// The machine's address (`machine.SITE.GROUP[i]`), for messages and handler ids.
        public static let machine = "machine"
        /// True once the machine answered the probe.
        public static let reachable = "reachable"
        /// Why the probe could not reach the machine.
        public static let unreachableReason = "unreachable_reason"
        /// The connection attributes, in the order handlers echo them.
        public static let connection = [host, sshPort, sshUser, sshKey, hostKey, knownHosts]
    }

    /// Attributes of a managed file (`file`; `nginx_site`, `haproxy` and `unit` derive `path` and `content`).
    public enum File {
        /// Absolute path on the machine.
        public static let path = "path"
        /// The file's text (write-only: compared through `content_sha256`).
        public static let content = "content"
        /// SHA-256 of `content`, compared against the file on the machine.
        public static let contentSHA256 = "content_sha256"
        /// Octal mode, e.g. `0644`.
        public static let mode = "mode"
        /// Owning user.
        public static let owner = "owner"
        /// Owning group.
        public static let group = "group"
        /// `sensitive: true` on a `file` or `template`: its text (and a template's variables) is never shown.
        public static let sensitive = "sensitive"
    }

    /// A file rendered from a mustache template on the machine (`template`; also `path`, `mode`, `owner`, `group`,
    /// `sensitive`, and the derived `content` and `content_sha256` of `File`).
    public enum Template {
        /// The mustache text of a `template` (a project file, read at load time).
        public static let template = "template"
        /// The variables it is rendered with: a map (site and inventory `vars`, machine facts, later a release's),
        /// whose values may be references to machines' addresses, resolved like any other reference.
        public static let variables = "variables"
    }

    /// A directory synced from the project (`directory`).
    public enum Directory {
        /// Where the project directory is read from (write-only).
        public static let source = "source"
        /// Remove files otto did not put there (default true).
        public static let purge = "purge"
        /// Octal mode of the directories (default `0755`).
        public static let dirMode = "dir_mode"
        /// Relative path → `SHA256 MODE` of every file (derived from `source`).
        public static let files = "files"
    }

    /// Installed apt packages (`package`).
    public enum Package {
        /// Package names.
        public static let names = "names"
    }

    /// A systemd service (`service`) or unit (`unit`).
    public enum Service {
        /// The unit name, e.g. `nginx` or `demo-worker.service`.
        public static let name = "name"
        /// Enabled at boot.
        public static let enabled = "enabled"
        /// Running now.
        public static let running = "running"
        /// `unit`: the command line.
        public static let exec = "exec"
        /// `unit`: systemd's `Restart=`.
        public static let restart = "restart"
        /// `unit`: the user it runs as.
        public static let user = "user"
        /// `unit`: environment variables.
        public static let environment = "environment"
    }

    /// An nginx server block (`nginx_site`).
    public enum NginxSite {
        /// The site's name (names its file).
        public static let name = "name"
        /// `server_name`, names separated by spaces.
        public static let serverName = "server_name"
        /// Document root.
        public static let root = "root"
        /// Port to listen on.
        public static let listen = "listen"
        /// Extra directives, verbatim, one per line.
        public static let directives = "directives"
    }

    /// haproxy's configuration (`haproxy`).
    public enum HAProxy {
        /// Frontend name.
        public static let name = "name"
        /// `bind` address, e.g. `:80`.
        public static let bind = "bind"
        /// Balancing algorithm.
        public static let balance = "balance"
        /// The backend's group name.
        public static let backend = "backend"
        /// Backend servers: maps with `serverName`, `serverAddress`, `serverPort`.
        public static let servers = "servers"
        /// A server's name.
        public static let serverName = "name"
        /// A server's address.
        public static let serverAddress = "address"
        /// A server's port.
        public static let serverPort = "port"
        /// Health check path.
        public static let healthPath = "health_path"
        /// Health check interval in milliseconds.
        public static let healthIntervalMS = "health_interval_ms"
        /// Applications behind this haproxy (optional): maps with `appName`, `appBind`, `appBalance`,
        /// `appHealthPath`, `appHealthIntervalMS` and `appSlots`; each gets `frontend app_NAME` and `backend app_NAME`.
        public static let apps = "apps"
        /// An app's name (`[a-z0-9-]+`).
        public static let appName = "name"
        /// An app's `bind` address, e.g. `:8080`.
        public static let appBind = "bind"
        /// An app's balancing algorithm (optional, default `roundrobin`).
        public static let appBalance = "balance"
        /// An app's HTTP health check path (optional: without one, the check is a TCP connect).
        public static let appHealthPath = "health_path"
        /// An app's health check interval in milliseconds (optional, default 1000).
        public static let appHealthIntervalMS = "health_interval_ms"
        /// An app's server slots: maps with `serverName`, `serverAddress`, `serverPort`, two per machine
        /// (`AppSlot.a` and `AppSlot.b`, see `AppSlot.serverName(machine:)`).
        public static let appSlots = "slots"
    }

    /// An application deployed onto a machine group behind the site's haproxy (`app`).
    public enum App {
        /// The app's name.
        public static let name = "name"
        /// The version that should serve.
        public static let version = "version"
        /// sha256 of the bundle (hex): the release's identity.
        public static let digest = "digest"
        /// The bundle: a directory or tarball in the project (absolute path), write-only.
        public static let bundlePath = "bundle_path"
        /// The bundle: an https URL (checked against `digest` on the machine).
        public static let bundleURL = "bundle_url"
        /// The command line (mustache, see `AppRunContext`).
        public static let exec = "exec"
        /// The user it runs as.
        public static let user = "user"
        /// Environment variables (sensitive).
        public static let environment = "environment"
        /// Base port: odd releases listen on it, even releases on the next.
        public static let port = "port"
        /// Health check: HTTP path.
        public static let healthPath = "health_path"
        /// Health check: expected status.
        public static let healthStatus = "health_status"
        /// Health check: text the body must contain.
        public static let healthBody = "health_body"
        /// Health check: interval (ms).
        public static let healthIntervalMS = "health_interval_ms"
        /// Health check: timeout of one check (ms).
        public static let healthTimeoutMS = "health_timeout_ms"
        /// How long a new release must pass its checks before it gets traffic (ms).
        public static let minHealthyMS = "min_healthy_ms"
        /// How long a new release may take to become healthy before the deploy fails (ms).
        public static let healthyDeadlineMS = "healthy_deadline_ms"
        /// Hooks in the bundle: `before_start`, `after_start`, `before_stop` → relative path.
        public static let hooks = "hooks"
        /// `blue-green`, `rolling:N` or `rolling:P%`.
        public static let strategy = "strategy"
        /// Releases kept on disk.
        public static let keep = "keep"
        /// Longest wait for connections to the old release to finish (ms).
        public static let drainTimeoutMS = "drain_timeout_ms"
        /// How long after the switch haproxy's figures are watched (ms).
        public static let watchMS = "watch_ms"
        /// Share of 5xx answers from the new release that rolls it back, in per mille.
        public static let watchMax5xxPerMille = "watch_max_5xx_per_mille"
        /// Connection errors to the new release that roll it back.
        public static let watchMaxConnectionErrors = "watch_max_connection_errors"
        /// The machines that run it: maps with `name` and the connection attributes of `Host`.
        public static let machines = "machines"
        /// The haproxy machines that route to it: maps with `name` and the connection attributes.
        public static let balancers = "balancers"
        /// A machine's name (`demo-web-0`) inside `machines` / `balancers`.
        public static let machineName = "name"
        /// The haproxy backend (`app_NAME`).
        public static let backend = "backend"
        /// Reported: per machine `{name, version, digest, running, intact, serving}` of the release that should serve.
        public static let live = "live"
        /// Reported: the release number serving now (0: none).
        public static let current = "current"
        /// Derived: what a deploy will do (one line per step), for the plan.
        public static let rollout = "rollout"
        /// Why this release is made, for the ledger, when it is not the site's `version:` (`otto rollback to release 2`).
        public static let releaseReason = "release_reason"
        /// The release whose build a rollback deploys again (`otto rollback`), for the ledger.
        public static let rollbackOf = "rollback_of"
    }

    /// A machine (`machine`), as site expansion writes it and machine providers report it.
    public enum Machine {
        /// Host name / instance name.
        public static let name = "name"
        /// The site's machine group.
        public static let group = "group"
        /// Image (an images/*.yml name, a slug, an AMI id).
        public static let image = "image"
        /// Size or instance type.
        public static let size = "size"
        /// Region.
        public static let region = "region"
        /// The site (cloud machines).
        public static let site = "site"
        /// cloud-init user data.
        public static let userData = "user_data"
        /// AWS key pair name.
        public static let keyName = "key_name"
        /// DigitalOcean SSH key fingerprints.
        public static let sshKeys = "ssh_keys"
        /// AWS security group ids.
        public static let securityGroups = "security_groups"
        /// Static hosts: the inventory host name.
        public static let host = "host"
        /// Static hosts: the address to reach it at.
        public static let address = "address"
        /// Static hosts: SSH port.
        public static let port = "port"
        /// Static hosts: SSH user.
        public static let user = "user"
        /// Static hosts: private key file.
        public static let key = "key"
        /// Reported: IPv4 address.
        public static let ipv4 = "ipv4"
        /// Reported: IPv6 address.
        public static let ipv6 = "ipv6"
        /// Reported by cloud providers: true while the host key otto sent in user data is still pinned (its
        /// replacement by a key made on the machine was interrupted); desired false, so an update finishes it.
        public static let hostKeyPending = "host_key_pending"
    }

    /// An account SSH key (`ssh_key`).
    public enum SSHKey {
        /// Key name.
        public static let name = "name"
        /// The public key text.
        public static let publicKey = "public_key"
        /// Reported: fingerprint.
        public static let fingerprint = "fingerprint"
    }

    /// An AWS security group (`security_group`).
    public enum SecurityGroup {
        /// Group name.
        public static let name = "name"
        /// Description.
        public static let description = "description"
        /// Ingress rules: maps with `ruleProtocol`, `rulePort`, `ruleCIDR`.
        public static let ingress = "ingress"
        /// An ingress rule's protocol (`tcp`).
        public static let ruleProtocol = "protocol"
        /// An ingress rule's port.
        public static let rulePort = "port"
        /// An ingress rule's source range.
        public static let ruleCIDR = "cidr"
        /// Reported: the group id.
        public static let id = "id"
    }

    /// A DNS zone (`dns_zone`).
    public enum DNSZone {
        /// FQDN with the trailing dot.
        public static let name = "name"
        /// Zone kind (`Native`).
        public static let kind = "kind"
        /// The apex NS records.
        public static let nameservers = "nameservers"
    }

    /// A DNS rrset (`dns_record`).
    public enum DNSRecord {
        /// The zone's FQDN.
        public static let zone = "zone"
        /// The record's FQDN.
        public static let name = "name"
        /// Record type.
        public static let type = "type"
        /// TTL in seconds.
        public static let ttl = "ttl"
        /// Values in presentation form.
        public static let records = "records"
    }

    /// A fleet unit (`fleet_unit`), submitted to a fleet cluster through its v1 API or placed by otto's own scheduler.
    public enum FleetUnit {
        /// The unit's name, e.g. `web@1.service` (a template's instance, never the template itself).
        public static let name = "name"
        /// The unit file as fleet's `UnitOption` list: maps of `section`, `name`, `value`, in file order, `[X-Fleet]`
        /// included, specifiers as written.
        public static let options = "options"
        /// A unit option's section.
        public static let optionSection = "section"
        /// A unit option's name.
        public static let optionName = "name"
        /// A unit option's value.
        public static let optionValue = "value"
        /// `inactive`, `loaded` or `launched`.
        public static let desiredState = "desired_state"
        /// The state fleet reports (`currentState`); the native scheduler reports the same from systemd.
        public static let currentState = "current_state"
        /// The machine the unit runs on: fleet's machine id, or the otto machine name for units otto places.
        public static let machineID = "machine_id"
        /// systemd's load state on that machine.
        public static let loadState = "load_state"
        /// systemd's active state (`active`, `inactive`, `failed`, ...).
        public static let activeState = "active_state"
        /// systemd's sub state (`running`, `dead`, ...).
        public static let subState = "sub_state"
        /// SHA-1 of the unit file's text, as fleet reports it.
        public static let hash = "hash"
        /// The machines otto may place the unit on (native scheduling): maps of `name`, `address`, `metadata` and
        /// the connection attributes of `Host`.
        public static let candidates = "candidates"
        /// A candidate's otto machine name (`demo-web-0`).
        public static let candidateName = "name"
        /// A candidate's machine address (`machine.demo.web[0]`).
        public static let candidateAddress = "address"
        /// A candidate's labels (its group's `labels:`), matched by `MachineMetadata`.
        public static let candidateMetadata = "metadata"
        /// Why the unit is where it is (or nowhere): the scheduler's reason.
        public static let placement = "placement"
        /// Seconds a machine may stay unreachable before its units move (`lost_after`).
        public static let lostAfterSeconds = "lost_after_s"
        /// When the unit's machine was first seen unreachable (ISO 8601), while it is.
        public static let lostSince = "lost_since"
        /// The site the unit belongs to (`SITE` or `SITE-ENV`): marks otto's unit files on machines.
        public static let site = "site"
        /// Machines that still hold an old copy of the unit (a machine that came back after its units moved).
        public static let staleOn = "stale_on"
    }
}
