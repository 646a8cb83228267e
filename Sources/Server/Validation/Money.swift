import Foundation
import Store

/// CNY amounts as exact decimal strings with two decimals.
enum Money {
    static func text(_ value: Decimal) -> String {
        value.twoDecimals
    }
}
