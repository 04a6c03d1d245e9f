import Foundation
import RookeryCore

/// Decides who may use an admin-facing endpoint, from `endpoint_auth`, `users`, `groups` and
/// `trusted_proxies` in server/settings.yml. Everything is checked when the settings are loaded:
/// an unknown user or group, a hash that is not passlib's pbkdf2-sha256, or a bad address range
/// stops the server with the setting named.
public struct EndpointAuthenticator: Sendable {
    /// The endpoints that take `endpoint_auth`; the remote shell's `pipe_create` comes with it,
    /// the dashboard's pages and read API with `dashboard`, its /metrics with `metrics`.
    public static let endpoints = ["download_release", "pipe_create", "dashboard", "metrics"]

    public enum Decision: Sendable, Equatable {
        /// Admitted; `by` says how, for the log ("address 10.0.0.0/8", "user alice").
        case allowed(by: String)
        /// Refused; the user named in the credentials, if any, for the log.
        case refused(user: String?, reason: String)
    }

    struct Policy: Sendable {
        var ranges: [AddressRange]
        /// Users allowed through the server-wide list, directly or by group.
        var users: Set<String>
        var passwords: [String: PasswordHash]
        var mandatory: Bool
        /// Whether any method is configured at all. A group that is empty still restricts the
        /// endpoint (to nobody): emptying a group must lock its members out, not open the door.
        var isEmpty: Bool
        /// What every Basic attempt here costs, in HMAC runs: the most any one name's hashes
        /// need (its endpoint password's rounds, plus its server-wide hash's where it is listed).
        /// Cheaper attempts, unknown names among them, are padded with decoy rounds up to it.
        var attemptRounds: Int
    }

    /// The longest user name looked up, in UTF-8 bytes; longer is refused like a wrong password.
    public static let maxUserNameBytes = 256

    let policies: [String: Policy]
    let userHashes: [String: PasswordHash]
    let forwardedFor: ForwardedFor
    /// Where password checks run: threads of their own, half the cores (at least one), apart from
    /// the signature checks' pool. Anyone can ask for a check; a burst of them must not take the
    /// threads and cores that devices' requests need.
    let checkThreads = BlockingPool(width: max(1, ProcessInfo.processInfo.activeProcessorCount / 2))
    /// Credentials that passed a moment ago (see `AdmittedCredentials`).
    let admitted = AdmittedCredentials()

    public init(settings: ServerSettings) throws {
        var hashes: [String: PasswordHash] = [:]
        for (user, hash) in settings.users {
            try Self.checkLength(of: user, in: ["users"])
            guard let parsed = PasswordHash(hash) else {
                throw SettingsError(
                    "users.\(user): not a passlib $pbkdf2-sha256$ hash; set it with bin/save_password \(user)",
                    setting: ["users", user])
            }
            hashes[user] = parsed
        }
        userHashes = hashes
        for (group, members) in settings.groups {
            for member in members where settings.users[member] == nil {
                throw SettingsError("groups.\(group): no user \(member) in users", setting: ["groups", group])
            }
        }
        forwardedFor = ForwardedFor(trustedProxies: try Self.ranges(settings.trustedProxies, in: ["trusted_proxies"]))
        var policies: [String: Policy] = [:]
        for (endpoint, auth) in settings.endpointAuth {
            guard Self.endpoints.contains(endpoint) else {
                throw SettingsError(
                    "endpoint_auth.\(endpoint): no such endpoint; known: \(Self.endpoints.joined(separator: ", "))",
                    setting: ["endpoint_auth", endpoint])
            }
            policies[endpoint] = try Self.policy(auth, for: endpoint, settings: settings, userHashes: hashes)
        }
        self.policies = policies
        // The dashboard shows the whole fleet: it is never served to everyone.
        if settings.dashboard != nil, policies["dashboard"]?.isEmpty ?? true {
            throw SettingsError(
                "dashboard is set but endpoint_auth.dashboard allows nobody: give it ip_ranges, users, groups or passwords (see docs/dashboard.md)",
                setting: ["endpoint_auth", "dashboard"])
        }
    }

    /// Whether any endpoint takes passwords, which HTTP Basic sends in clear without TLS.
    public var takesPasswords: Bool { policies.values.contains { !$0.users.isEmpty || !$0.passwords.isEmpty } }

    /// Whether `endpoint` restricts who may use it.
    public func isConfigured(_ endpoint: String) -> Bool { !(policies[endpoint]?.isEmpty ?? true) }

    /// Refuses to go on while an endpoint marked mandatory has nothing configured.
    public func checkMandatoryEndpoints() throws {
        for (endpoint, policy) in policies.sorted(by: { $0.key < $1.key }) where policy.mandatory && policy.isEmpty {
            throw SettingsError(
                "endpoint_auth.\(endpoint) is mandatory but allows no address, user, group or password",
                setting: ["endpoint_auth", endpoint])
        }
    }

    /// The decision for a request from `peer` (the socket's address), with its X-Forwarded-For
    /// and Authorization headers.
    public func decide(_ endpoint: String, peer: String?, forwardedFor: String?, authorization: String?) -> Decision {
        judge(endpoint, peer: peer, forwardedFor: forwardedFor, authorization: authorization).decision
    }

    /// `decide`, on the password check threads: a check is tens of milliseconds of PBKDF2, not
    /// for the event loop.
    /// Credentials admitted a moment ago are admitted again without the check (`AdmittedCredentials`).
    public func decideOffTheEventLoop(
        _ endpoint: String, peer: String?, forwardedFor: String?,
        authorization: String?
    ) async throws -> Decision {
        if let authorization, let kept = admitted.admission(endpoint, authorization: authorization) { return kept }
        let decision = try await checkThreads.run {
            decide(endpoint, peer: peer, forwardedFor: forwardedFor, authorization: authorization)
        }
        // Kept only when the credentials admitted, not the address (which may differ next time).
        if let authorization, case .allowed(let how) = decision, !how.hasPrefix("address range"), how != "no restriction" {
            admitted.remember(decision, endpoint, authorization: authorization)
        }
        return decision
    }

    /// The decision, and the HMAC runs its password work took: the same for every attempt with
    /// credentials at one endpoint, whether the name exists or which hashes it has (tests read it).
    func judge(
        _ endpoint: String, peer: String?, forwardedFor: String?,
        authorization: String?
    ) -> (decision: Decision, hmacRuns: Int) {
        guard let policy = policies[endpoint], !policy.isEmpty else { return (.allowed(by: "no restriction"), 0) }
        let address = clientAddress(peer: peer, forwardedFor: forwardedFor)
        if let address, let range = policy.ranges.first(where: { $0.contains(address) }) {
            return (.allowed(by: "address range \(range)"), 0)
        }
        guard let (user, password) = authorization.flatMap(Self.basicCredentials) else {
            return (.refused(user: nil, reason: "no credentials from \(address ?? "an unknown address")"), 0)
        }
        // A name that is not a user may be a password typed in the wrong field: not for the log.
        let logged = policy.passwords[user] != nil || userHashes[user] != nil ? user : "(unknown user)"
        guard user.utf8.count <= Self.maxUserNameBytes, password.utf8.count <= PasswordHash.maxPasswordBytes else {
            return (.refused(user: logged, reason: "user name or password longer than allowed"), 0)
        }
        // Every hash that may admit the name is checked (no early exit), then decoy rounds make
        // the work up to the endpoint's cost: timing tells neither which names exist nor their hashes.
        var hmac = KeyedHMAC(password: Array(password.utf8))
        let byEndpointPassword = policy.passwords[user]?.matches(keyedWith: &hmac) ?? false
        let byUserHash = policy.users.contains(user) && userHashes[user]?.matches(keyedWith: &hmac) == true
        hmac.decoyRounds(policy.attemptRounds - hmac.runs)
        let decision: Decision =
            if byEndpointPassword {
                .allowed(by: "endpoint password of \(user)")
            } else if byUserHash {
                .allowed(by: "user \(user)")
            } else if userHashes[user] != nil, !policy.users.contains(user), policy.passwords[user] == nil {
                // For the log alone: the answer is the same 401 as for a wrong password, so it tells
                // a guesser nothing about which names exist. The password is not checked: checking it
                // would cost more than the endpoint's other attempts, and timing would tell.
                .refused(user: logged, reason: Self.notAllowed(user, at: endpoint))
            } else {
                .refused(user: logged, reason: "wrong user name or password")
            }
        return (decision, hmac.runs)
    }

    /// Who a request admitted `by` (a `Decision.allowed` reason) is, for the records: `user NAME`
    /// when admitted by credentials, else `address A` (the client address judged).
    public static func admittedIdentity(by how: String, address: String) -> String {
        for prefix in ["endpoint password of ", "user "] where how.hasPrefix(prefix) {
            return "user " + how.dropFirst(prefix.count)
        }
        return "address " + address
    }

    /// Why a user of `users` is refused at an endpoint that does not list them, and how to allow them.
    static func notAllowed(_ user: String, at endpoint: String) -> String {
        "user \(user) is in users but not allowed for \(endpoint) (its password was not checked): "
            + "add \(user) to endpoint_auth.\(endpoint).users, or to a group in endpoint_auth.\(endpoint).groups, "
            + "then restart the server"
    }

    /// The address to judge: the socket's, unless it is a trusted proxy; then the client's from
    /// X-Forwarded-For (see `ForwardedFor`). Nil when there is none to judge.
    func clientAddress(peer: String?, forwardedFor: String?) -> String? {
        self.forwardedFor.clientAddress(peer: peer, header: forwardedFor)
    }

    /// `Basic base64(user:password)`.
    static func basicCredentials(_ header: String) -> (String, String)? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic", let data = Data(base64Encoded: String(parts[1])),
            let colon = data.firstIndex(of: UInt8(ascii: ":")),
            let user = String(data: data[..<colon], encoding: .utf8),
            let password = String(data: data[(colon + 1)...], encoding: .utf8)
        else { return nil }
        // The first colon byte splits (RFC 7617): a password may start with a combining mark.
        return (user, password)
    }

    private static func policy(
        _ auth: EndpointAuthSettings, for endpoint: String, settings: ServerSettings,
        userHashes: [String: PasswordHash]
    ) throws -> Policy {
        var users = Set<String>()
        for user in auth.users {
            guard settings.users[user] != nil else {
                throw SettingsError("endpoint_auth.\(endpoint).users: no user \(user) in users", setting: ["endpoint_auth", endpoint, "users"])
            }
            users.insert(user)
        }
        for group in auth.groups {
            guard let members = settings.groups[group] else {
                throw SettingsError(
                    "endpoint_auth.\(endpoint).groups: no group \(group) in groups",
                    setting: ["endpoint_auth", endpoint, "groups"])
            }
            users.formUnion(members)
        }
        var passwords: [String: PasswordHash] = [:]
        for (user, hash) in auth.passwords {
            try checkLength(of: user, in: ["endpoint_auth", endpoint, "passwords"])
            guard let parsed = PasswordHash(hash) else {
                throw SettingsError(
                    "endpoint_auth.\(endpoint).passwords.\(user): not a passlib $pbkdf2-sha256$ hash; "
                        + "set it with bin/save_password --endpoint \(endpoint) \(user)",
                    setting: ["endpoint_auth", endpoint, "passwords", user])
            }
            passwords[user] = parsed
        }
        let attemptRounds =
            Set(passwords.keys).union(users).map { name in
                (passwords[name]?.rounds ?? 0) + (users.contains(name) ? userHashes[name]?.rounds ?? 0 : 0)
            }.max() ?? 0
        return Policy(
            ranges: try ranges(auth.ipRanges, in: ["endpoint_auth", endpoint, "ip_ranges"]), users: users,
            passwords: passwords, mandatory: auth.mandatory, isEmpty: auth.isEmpty, attemptRounds: attemptRounds)
    }

    /// A name longer than an attempt may send could never be used: a settings error, not a surprise.
    private static func checkLength(of user: String, in setting: [String]) throws {
        guard user.utf8.count <= maxUserNameBytes else {
            throw SettingsError(
                "\(setting.joined(separator: ".")): a user name of \(user.utf8.count) bytes; at most \(maxUserNameBytes)",
                setting: setting)
        }
    }

    private static func ranges(_ texts: [String], in setting: [String]) throws -> [AddressRange] {
        try texts.enumerated().map { index, text in
            guard let range = AddressRange(text) else {
                throw SettingsError(
                    "\(setting.joined(separator: ".")): \(text) is not an address or CIDR range "
                        + "(like 10.0.0.0/8 or 2001:db8::/32)", setting: setting + [String(index)])
            }
            return range
        }
    }
}
