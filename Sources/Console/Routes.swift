import Hummingbird

extension Console {
    /// Every page of the console, under `/console`.
    public func register<R: RouterMethods>(on router: R) {
        registerFrame(router)
        registerSignOut(router)
        registerWork(router)
        registerTasks(router)
        registerRecords(router)
        registerProblems(router)
        registerForwardings(router)
        registerMonitoring(router)
        registerClients(router)
        registerAudit(router)
    }
}
