import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// The counting behind the connection caps, the throttle on their log lines and the checks on
/// their settings. SlowPeerAttackTests shows them against a real server.
@Suite struct ConnectionLimiterTests {
    @Test func oneAddressIsCappedWhileOthersStillGetIn() throws {
        let limiter = ConnectionLimiter(maxConnections: 100, maxPerAddress: 2)
        let first = try limiter.admit("192.0.2.7").get()
        _ = try limiter.admit("192.0.2.7").get()
        #expect(limiter.admit("192.0.2.7").failure == .address("192.0.2.7", limit: 2))
        #expect((try? limiter.admit("192.0.2.8").get()) != nil)
        // An IPv4-mapped IPv6 peer is the same address.
        #expect(limiter.admit("::ffff:192.0.2.7").failure == .address("192.0.2.7", limit: 2))

        limiter.release(first)
        #expect(limiter.openConnections(from: "192.0.2.7") == 1)
        #expect((try? limiter.admit("192.0.2.7").get()) != nil)
        #expect(limiter.openConnections == 3)
    }

    @Test func anIPv6AddressCountsByItsSlash64() throws {
        let limiter = ConnectionLimiter(maxConnections: 100, maxPerAddress: 2)
        _ = try limiter.admit("2001:db8:1:2::1").get()
        _ = try limiter.admit("2001:db8:1:2:ffff::9").get()
        #expect(limiter.admit("2001:db8:1:2:abcd::1").failure == .address("2001:0db8:0001:0002::/64", limit: 2))
        #expect((try? limiter.admit("2001:db8:1:3::1").get()) != nil)
    }

    @Test func theTotalCapHoldsOverEveryAddressAndFreesAsConnectionsClose() throws {
        let limiter = ConnectionLimiter(maxConnections: 3, maxPerAddress: 10)
        let admitted = try ["192.0.2.1", "192.0.2.2", "2001:db8::1"].map { try limiter.admit($0).get() }
        #expect(limiter.admit("192.0.2.9").failure == .total(limit: 3))
        #expect(limiter.admit(nil).failure == .total(limit: 3))
        for admission in admitted { limiter.release(admission) }
        #expect(limiter.openConnections == 0)
        #expect(limiter.openConnections(from: "192.0.2.1") == 0)
        #expect((try? limiter.admit("192.0.2.9").get()) != nil)
    }

    @Test func aTrustedProxyCountsTowardTheTotalOnly() throws {
        let limiter = ConnectionLimiter(maxConnections: 4, maxPerAddress: 1, unlimited: [try #require(AddressRange("127.0.0.1"))])
        for _ in 0..<3 { _ = try limiter.admit("127.0.0.1").get() }
        #expect(limiter.openConnections == 3)
        _ = try limiter.admit("192.0.2.1").get()
        #expect(limiter.admit("127.0.0.1").failure == .total(limit: 4))
    }

    @Test func aFloodOfLogLinesIsThrottledAndTheNextLineCountsWhatWasLeftOut() {
        var throttle = ThrottledLog.Throttle(interval: 10)
        let start = Date()
        #expect(throttle.shouldWrite(now: start) == (true, 0))
        for second in 1..<10 { #expect(throttle.shouldWrite(now: start + Double(second)).write == false) }
        #expect(throttle.shouldWrite(now: start + 10) == (true, 9))
        #expect(throttle.shouldWrite(now: start + 11) == (false, 0))
        #expect(throttle.shouldWrite(now: start + 25) == (true, 1))
    }

    @Test func limitsOutOfRangeAreRefusedNamingTheSetting() throws {
        let defaults = try EdgeLimits(settings: ServerSettings())
        #expect(defaults.maxConnections == 1024 && defaults.maxConnectionsPerAddress == 64)
        #expect(defaults.requestTimeout == 30 && defaults.responseTimeout == 30)

        let cases: [(WritableKeyPath<ServerSettings, Int>, Int, String)] = [
            (\.maxConnections, 0, "max_connections"), (\.maxConnectionsPerAddress, 0, "max_connections_per_address"),
            (\.requestTimeout, -5, "request_timeout"), (\.responseTimeout, 3601, "response_timeout")
        ]
        for (field, value, name) in cases {
            var settings = ServerSettings()
            settings[keyPath: field] = value
            #expect { try EdgeLimits(settings: settings) } throws: {
                "\($0)" == "\(name): \(value) is out of range; give a whole number from 1 to \(name.hasSuffix("timeout") ? 3600 : 1_000_000)"
            }
        }
    }

    @Test func theSettingsFileNamesTheLimits() throws {
        let settings = try SettingsFile.decode(
            ServerSettings.self,
            text: """
                max_connections: 10
                max_connections_per_address: 3
                request_timeout: 5
                response_timeout: 7
                trusted_proxies: [127.0.0.1]
                """, source: "settings.yml")
        let limits = try EdgeLimits(settings: settings)
        #expect(limits.maxConnections == 10 && limits.maxConnectionsPerAddress == 3)
        #expect(limits.requestTimeout == 5 && limits.responseTimeout == 7)
        #expect(limits.unlimitedAddresses.map(\.description) == ["127.0.0.1"])
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
