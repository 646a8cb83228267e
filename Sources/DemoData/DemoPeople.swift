import Foundation

/// Plausible Chinese names, resident ID numbers with a valid check digit, and mobile numbers.
enum DemoPeople {
    static let surnames = Array("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢")
    static let given = Array("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华建国文军红玉兰凤志新海波宇浩鑫鹏飞晨阳欣怡佳琪子涵梓萱一诺")

    static func name(_ random: inout DemoRandom) -> String {
        var name = String(random.pick(surnames)) + String(random.pick(given))
        if random.chance(0.7) { name += String(random.pick(given)) }
        return name
    }

    /// An 18-character resident ID (GB 11643): region, birth date, sequence, check digit.
    static func residentID(region: String, year: Int, month: Int, day: Int, _ random: inout DemoRandom) -> String {
        let body = region + String(format: "%04d%02d%02d%03d", year, month, day, random.below(1000))
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let sum = zip(body.compactMap(\.wholeNumberValue), weights).reduce(0) { $0 + $1.0 * $1.1 }
        return body + String(Array("10X98765432")[sum % 11])
    }

    static func mobile(_ random: inout DemoRandom) -> String {
        let prefixes = ["130", "131", "135", "136", "138", "139", "150", "152", "158", "176", "186", "188", "189"]
        return random.pick(prefixes) + String(format: "%08d", random.below(100_000_000))
    }
}
