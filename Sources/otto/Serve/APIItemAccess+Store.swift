import OttoConfig
import OttoCore
import OttoState

extension APIItemAccess {
    /// The API items of a state store (its `apiItems` and `writeAPIItems`), for the desired state service.
    init(_ store: any APIItemStore) {
        self.init(read: { try store.apiItems() }, write: { put, remove in try store.writeAPIItems(put: put, remove: remove) },
                  version: { try store.apiItemsVersion() })
    }
}
