import Postgres
import Testing

@Suite("SQL interpolation binds values instead of splicing them")
struct SQLTests {
    @Test func valuesBecomeNumberedParameters() {
        let name = "x'; drop table clients; --"
        let sql: SQL = "select * from t where name = \(name) and id = \(42)"
        #expect(sql.text == "select * from t where name = $1 and id = $2")
        #expect(sql.parameters == [name, "42"])
    }

    @Test func fragmentsAreRenumberedWhenJoined() {
        let conditions: [SQL] = ["a = \(1)", "b = \(2)", "c = \(3)"]
        let sql: SQL = "select * from t where \(SQL.joined(conditions, separator: " and ")) limit \(10)"
        #expect(sql.text == "select * from t where a = $1 and b = $2 and c = $3 limit $4")
        #expect(sql.parameters == ["1", "2", "3", "10"])
    }

    @Test func nilBindsNull() {
        let missing: String? = nil
        let sql: SQL = "select \(missing)"
        #expect(sql.parameters == [nil])
    }
}
