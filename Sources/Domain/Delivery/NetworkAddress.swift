/// Whether an IP address is one a webhook may reach without an admin's exception: the public
/// internet only, never the bank's own networks (RFC 1918, RFC 4193), the machine itself, link-local
/// neighbours (cloud metadata at 169.254.169.254) or addresses with no single destination.
public enum NetworkAddress {
    /// Why `bytes` (4 for IPv4, 16 for IPv6) is not a public unicast address, or nil when it is.
    public static func restriction(_ bytes: [UInt8]) -> String? {
        switch bytes.count {
        case 4: return restriction(ipv4: bytes)
        case 16: return restriction(ipv6: bytes)
        default: return "not an IP address"
        }
    }

    private static let ipv4Ranges: [(prefix: [UInt8], bits: Int, name: String)] = [
        ([0, 0, 0, 0], 8, "this network (0.0.0.0/8)"),
        ([10, 0, 0, 0], 8, "private (10.0.0.0/8)"),
        ([100, 64, 0, 0], 10, "shared address space (100.64.0.0/10)"),
        ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
        ([169, 254, 0, 0], 16, "link-local (169.254.0.0/16)"),
        ([172, 16, 0, 0], 12, "private (172.16.0.0/12)"),
        ([192, 0, 0, 0], 24, "IETF protocol assignments (192.0.0.0/24)"),
        ([192, 0, 2, 0], 24, "documentation (192.0.2.0/24)"),
        ([192, 88, 99, 0], 24, "6to4 relay anycast (192.88.99.0/24)"),
        ([192, 168, 0, 0], 16, "private (192.168.0.0/16)"),
        ([198, 18, 0, 0], 15, "benchmarking (198.18.0.0/15)"),
        ([198, 51, 100, 0], 24, "documentation (198.51.100.0/24)"),
        ([203, 0, 113, 0], 24, "documentation (203.0.113.0/24)"),
        ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
        ([240, 0, 0, 0], 4, "reserved (240.0.0.0/4)"),
    ]

    private static let ipv6Ranges: [(prefix: [UInt8], bits: Int, name: String)] = [
        ([0x01, 0x00] + Array(repeating: 0, count: 6), 64, "discard-only (100::/64)"),
        ([0x20, 0x01, 0x00, 0x00], 32, "Teredo (2001::/32)"),
        ([0x20, 0x01, 0x0d, 0xb8], 32, "documentation (2001:db8::/32)"),
        ([0xfc], 7, "unique local (fc00::/7)"),
        ([0xfe, 0x80], 10, "link-local (fe80::/10)"),
        ([0xfe, 0xc0], 10, "site-local (fec0::/10)"),
        ([0xff], 8, "multicast (ff00::/8)"),
    ]

    private static func restriction(ipv4 bytes: [UInt8]) -> String? {
        ipv4Ranges.first { matches(bytes, $0.prefix, bits: $0.bits) }?.name
    }

    private static func restriction(ipv6 bytes: [UInt8]) -> String? {
        let zeros = bytes.prefix(10).allSatisfy { $0 == 0 }
        if zeros && bytes[10] == 0xff && bytes[11] == 0xff {
            // IPv4-mapped (::ffff:a.b.c.d): the socket reaches the IPv4 address, so judge that.
            return restriction(ipv4: Array(bytes[12...])).map { "IPv4-mapped \($0)" }
        }
        if zeros && bytes[10] == 0 && bytes[11] == 0 {
            if bytes[12..<15].allSatisfy({ $0 == 0 }) && bytes[15] <= 1 {
                return bytes[15] == 0 ? "unspecified (::)" : "loopback (::1)"
            }
            return "IPv4-compatible (::/96, deprecated)"
        }
        if bytes.starts(with: [0x00, 0x64, 0xff, 0x9b] + Array(repeating: 0, count: 8)) {
            // NAT64 (64:ff9b::/96) translates to the embedded IPv4 address.
            return restriction(ipv4: Array(bytes[12...])).map { "NAT64 of \($0)" }
        }
        if bytes[0] == 0x20 && bytes[1] == 0x02 {
            // 6to4 (2002::/16) carries an IPv4 address in bits 16–47.
            return restriction(ipv4: Array(bytes[2..<6])).map { "6to4 of \($0)" }
        }
        return ipv6Ranges.first { matches(bytes, $0.prefix, bits: $0.bits) }?.name
    }

    private static func matches(_ bytes: [UInt8], _ prefix: [UInt8], bits: Int) -> Bool {
        for bit in 0..<bits {
            let index = bit / 8
            let mask = UInt8(0x80) >> UInt8(bit % 8)
            let want = index < prefix.count ? prefix[index] & mask : 0
            if bytes[index] & mask != want { return false }
        }
        return true
    }
}
