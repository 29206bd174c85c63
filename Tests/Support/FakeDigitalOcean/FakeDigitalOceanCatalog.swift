/// The sizes, regions and public images the fake DigitalOcean knows (a small, real subset of DigitalOcean's).
enum FakeDigitalOceanCatalog {
    struct Size {
        var slug: String
        var memory: Int
        var vcpus: Int
        var disk: Int
        var transfer: Double
        var priceMonthly: Double
    }

    struct Image {
        var id: Int
        var slug: String
        var name: String
        var distribution: String
        var minDiskSize: Int
    }

    static let sizes: [Size] = [
        Size(slug: "s-1vcpu-512mb-10gb", memory: 512, vcpus: 1, disk: 10, transfer: 0.5, priceMonthly: 4),
        Size(slug: "s-1vcpu-1gb", memory: 1024, vcpus: 1, disk: 25, transfer: 1, priceMonthly: 6),
        Size(slug: "s-1vcpu-2gb", memory: 2048, vcpus: 1, disk: 50, transfer: 2, priceMonthly: 12),
        Size(slug: "s-2vcpu-2gb", memory: 2048, vcpus: 2, disk: 60, transfer: 3, priceMonthly: 18),
        Size(slug: "s-2vcpu-4gb", memory: 4096, vcpus: 2, disk: 80, transfer: 4, priceMonthly: 24),
        Size(slug: "s-4vcpu-8gb", memory: 8192, vcpus: 4, disk: 160, transfer: 5, priceMonthly: 48),
        Size(slug: "s-8vcpu-16gb", memory: 16384, vcpus: 8, disk: 320, transfer: 6, priceMonthly: 96),
    ]

    /// Region slug → display name. Only slugs the spec's region enum allows.
    static let regions: [(slug: String, name: String)] = [
        ("nyc1", "New York 1"), ("nyc3", "New York 3"), ("sfo3", "San Francisco 3"), ("ams3", "Amsterdam 3"),
        ("fra1", "Frankfurt 1"), ("lon1", "London 1"), ("sgp1", "Singapore 1"), ("tor1", "Toronto 1"),
        ("blr1", "Bangalore 1"), ("syd1", "Sydney 1"),
    ]

    static let images: [Image] = [
        Image(id: 150_000_001, slug: "debian-12-x64", name: "12 x64", distribution: "Debian", minDiskSize: 15),
        Image(id: 150_000_002, slug: "debian-11-x64", name: "11 x64", distribution: "Debian", minDiskSize: 15),
        Image(id: 150_000_003, slug: "ubuntu-24-04-x64", name: "24.04 (LTS) x64", distribution: "Ubuntu", minDiskSize: 15),
        Image(id: 150_000_004, slug: "ubuntu-22-04-x64", name: "22.04 (LTS) x64", distribution: "Ubuntu", minDiskSize: 15),
        Image(id: 150_000_005, slug: "rockylinux-9-x64", name: "9 x64", distribution: "Rocky Linux", minDiskSize: 15),
        Image(id: 150_000_006, slug: "fedora-40-x64", name: "40 x64", distribution: "Fedora", minDiskSize: 15),
    ]

    static let defaultRegion = "nyc3"

    static func size(_ slug: String) -> Size? { sizes.first { $0.slug == slug } }
    static func regionName(_ slug: String) -> String? { regions.first { $0.slug == slug }?.name }

    /// The size object of the spec (`sizes/models/size.yml`).
    static func json(_ size: Size) -> JSONValue {
        [
            "slug": .string(size.slug), "memory": .int(size.memory), "vcpus": .int(size.vcpus), "disk": .int(size.disk),
            "transfer": .double(size.transfer), "price_monthly": .double(size.priceMonthly),
            "price_hourly": .double((size.priceMonthly / 672 * 100_000).rounded() / 100_000),
            "regions": .array(regions.map { .string($0.slug) }), "available": true, "description": "Basic",
            "disk_info": [["type": "local", "size": ["amount": .int(size.disk), "unit": "gib"]]],
        ]
    }

    /// The region object of the spec (`regions/models/region.yml`).
    static func regionJSON(_ slug: String) -> JSONValue {
        [
            "name": .string(regionName(slug) ?? slug), "slug": .string(slug),
            "features": ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer"],
            "available": true, "sizes": .array(sizes.map { .string($0.slug) }),
        ]
    }
}
