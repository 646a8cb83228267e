#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of an IP address written as text, in every form the resolver would accept: `inet_aton`
/// also reads `2130706433`, `0x7f.1` and `127.1`, which a check of dotted quads alone would let through.
enum IPAddressLiteral {
    static func bytes(_ text: String) -> [UInt8]? {
        var host = text
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        var v4 = in_addr()
        if inet_aton(host, &v4) != 0 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        return nil
    }
}
