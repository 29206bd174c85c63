import Foundation
import OttoTestSupport
import Testing

/// The fake DigitalOcean's images, snapshots and tags, as a golden image build uses them: a snapshot action, the
/// private image it makes, filters, tags on images and droplets, deletes, droplets made from a snapshot, and the
/// counts a test reads to tell that nothing was built.
@Suite struct DigitalOceanFakeImageTests {
    static let builder = #"{"name":"golden-builder","size":"s-1vcpu-1gb","image":"debian-12-x64","region":"nyc3"}"#

    @Test func aSnapshotActionMakesAPrivateSnapshotImage() async throws {
        // Actions take 1 s, so the looks right after a POST come before they end.
        try await DigitalOceanHarness.run(actionSeconds: 1) { h in
            let (droplet, created) = try await h.createDroplet(Self.builder)
            #expect(created == "completed")

            // Snapshot a running droplet: allowed (DigitalOcean takes live snapshots), and recorded as such.
            let started = await h.call("POST", "/v2/droplets/\(droplet)/actions", #"{"type":"snapshot","name":"web-1f2e3d"}"#)
            #expect(started.status == 201)
            let action = try #require(started.json?["action"])
            #expect(action["type"] == "snapshot")
            #expect(action["status"] == "in-progress")
            #expect(action["resource_type"] == "droplet")
            #expect(action["resource_id"] == .int(droplet))
            #expect(await h.call("GET", "/v2/images", query: "private=true").json?["images"] == [], "no image before the action completes")
            let busy = await h.call("POST", "/v2/droplets/\(droplet)/actions", #"{"type":"power_off"}"#)
            #expect(busy.status == 422)
            #expect(busy.json?["message"] == "Droplet already has a pending event.")
            #expect(try await h.waitForAction(action["id"]!.int!) == "completed")

            // The image: private, a snapshot of the droplet, in its region, as big as its disk.
            let images = try #require(await h.call("GET", "/v2/images", query: "private=true").json?["images"]?.array)
            #expect(images.count == 1)
            let image = try #require(images.first)
            let id = try #require(image["id"]?.int)
            #expect(image["name"] == "web-1f2e3d")
            #expect(image["type"] == "snapshot")
            #expect(image["public"] == false)
            #expect(image["slug"] == .null)
            #expect(image["distribution"] == "Debian")
            #expect(image["regions"] == ["nyc3"])
            #expect(image["min_disk_size"] == 25)
            #expect(image["tags"] == [])
            #expect(image["status"] == "available")
            #expect(image["description"] == "")
            #expect(image["created_at"]?.string?.hasSuffix("Z") == true)
            #expect(image["size_gigabytes"]?.double != nil)
            #expect(await h.call("GET", "/v2/images/\(id)").json?["image"] == image)

            // The snapshot views of the same image.
            let snapshots = await h.call("GET", "/v2/snapshots", query: "resource_type=droplet").json?["snapshots"]?.array
            #expect(snapshots?.count == 1)
            let snapshot = try #require(snapshots?.first)
            #expect(snapshot["id"] == .string(String(id)))
            #expect(snapshot["resource_id"] == .string(String(droplet)))
            #expect(snapshot["resource_type"] == "droplet")
            #expect(snapshot["name"] == "web-1f2e3d")
            #expect(snapshot["min_disk_size"] == 25)
            #expect(snapshot["tags"] == [])
            #expect(await h.call("GET", "/v2/snapshots/\(id)").json?["snapshot"] == snapshot)
            #expect(await h.call("GET", "/v2/snapshots", query: "resource_type=volume").json?["snapshots"] == [])
            let ofDroplet = await h.call("GET", "/v2/droplets/\(droplet)/snapshots").json
            #expect(ofDroplet?["snapshots"]?.array?.map { $0["id"] } == [.int(id)])
            #expect(ofDroplet?["snapshots"]?.array?.first?["type"] == "snapshot")
            #expect(ofDroplet?["meta"]?["total"] == 1)
            #expect(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"]?["snapshot_ids"] == [.int(id)])

            // A public image is not a snapshot (400); unknown ids are 404.
            let notASnapshot = await h.call("GET", "/v2/snapshots/150000001")
            #expect(notASnapshot.status == 400)
            #expect(notASnapshot.json == ["id": "bad_request", "message": "the resource is not a snapshot"])
            #expect(await h.call("GET", "/v2/snapshots/999").status == 404)
            #expect(await h.call("GET", "/v2/droplets/999/snapshots").status == 404)

            // Powered off first (what a golden image build does), without a name: DigitalOcean's default name.
            #expect(try await h.act(droplet, #"{"type":"power_off"}"#).status == "completed")
            let (second, status) = try await h.act(droplet, #"{"type":"snapshot"}"#)
            #expect(status == "completed")
            #expect(second > 0)
            let summaries = await h.fake.imageSummaries()
            #expect(summaries.map(\.takenWhileActive) == [true, false])
            #expect(summaries.allSatisfy { $0.sourceDropletID == droplet })
            let defaultName = try #require(summaries.last?.name)
            #expect(defaultName.hasPrefix("golden-builder-") && Int(defaultName.dropFirst("golden-builder-".count)) != nil, "\(defaultName)")
            let bad = await h.call("POST", "/v2/droplets/\(droplet)/actions", #"{"type":"snapshot","name":17}"#)
            #expect(bad.status == 422)

            // Deleting: through /v2/snapshots and /v2/images alike; the droplet forgets them; public images are not ours.
            let ids = summaries.map(\.id)
            #expect(await h.call("DELETE", "/v2/snapshots/\(ids[0])").status == 204)
            #expect(await h.call("GET", "/v2/snapshots/\(ids[0])").status == 404)
            #expect(await h.call("GET", "/v2/images/\(ids[0])").status == 404)
            #expect(await h.call("GET", "/v2/droplets/\(droplet)").json?["droplet"]?["snapshot_ids"] == [.int(ids[1])])
            #expect(await h.call("DELETE", "/v2/images/\(ids[1])").status == 204)
            #expect(await h.call("DELETE", "/v2/images/\(ids[1])").status == 404)
            #expect(await h.call("DELETE", "/v2/images/150000001").status == 404)
            #expect(await h.call("DELETE", "/v2/snapshots/150000001").status == 400)
            #expect(await h.call("GET", "/v2/snapshots").json?["meta"]?["total"] == 0)
            #expect(await h.fake.imageSummaries().isEmpty)

            // The counts tell snapshot actions apart, here and over the control API.
            let actions = await h.fake.actionCounts()
            #expect(actions["snapshot"] == 3)
            #expect(actions["power_off"] == 2)
            let counts = await h.fake.handle(FakeHTTPRequest(method: "GET", path: "/_fake/counts")).json
            #expect(counts?["actions"]?["snapshot"] == 3)
            #expect(counts?["requests"]?["POST /v2/droplets"] == 1)
            #expect(counts?["requests"]?["POST /v2/droplets/{droplet_id}/actions"] == 5)
            #expect(counts?["requests"]?["DELETE /v2/snapshots/{snapshot_id}"] == 2)
            await h.fake.resetCounts()
            #expect(await h.fake.actionCounts().isEmpty)
        }
    }

    @Test func imagesAreListedFilteredAndUpdated() async throws {
        try await DigitalOceanHarness.run { h in
            let golden = await h.fake.seedSnapshot(name: "web-abc", tags: ["golden"])
            let other = await h.fake.seedSnapshot(name: "lb-def", region: "ams3")

            let all = try #require(await h.call("GET", "/v2/images").json)
            #expect(all["meta"]?["total"] == 8)
            let ids = all["images"]?.array?.compactMap { $0["id"]?.int } ?? []
            #expect(ids == ids.sorted())
            #expect(await h.call("GET", "/v2/images", query: "private=true").json?["images"]?.array?.compactMap { $0["id"]?.int } == [golden, other])
            #expect(await h.call("GET", "/v2/images", query: "private=false").json?["meta"]?["total"] == 8)
            let distributions = try #require(await h.call("GET", "/v2/images", query: "type=distribution").json?["images"]?.array)
            #expect(distributions.count == 6)
            #expect(distributions.allSatisfy { $0["public"] == true && $0["slug"]?.string != nil && $0["type"] == "base" })
            #expect(distributions.contains { $0["slug"] == "debian-12-x64" })
            #expect(await h.call("GET", "/v2/images", query: "type=application").json?["images"] == [])
            #expect(await h.call("GET", "/v2/images", query: "type=snapshot").status == 422)
            #expect(await h.call("GET", "/v2/images", query: "private=maybe").status == 422)
            let tagged = await h.call("GET", "/v2/images", query: "tag_name=golden").json?["images"]?.array
            #expect(tagged?.compactMap { $0["id"]?.int } == [golden])
            #expect(await h.call("GET", "/v2/images", query: "private=true&tag_name=golden&type=distribution").json?["images"] == [])
            let page = try #require(await h.call("GET", "/v2/images", query: "private=true&per_page=1").json)
            #expect(page["images"]?.array?.count == 1)
            #expect(page["meta"]?["total"] == 2)
            #expect(page["links"]?["pages"]?["next"]?.string?.contains("page=2") == true)

            // One image: public ones by id or slug, private ones by id.
            let bySlug = try #require(await h.call("GET", "/v2/images/debian-12-x64").json?["image"])
            #expect(bySlug["id"] == 150_000_001)
            #expect(await h.call("GET", "/v2/images/150000001").json?["image"] == bySlug)
            #expect(await h.call("GET", "/v2/images/\(other)").json?["image"]?["regions"] == ["ams3"])
            #expect(await h.call("GET", "/v2/images/web-abc").status == 404)
            #expect(await h.call("GET", "/v2/images/42").status == 404)

            // PUT: name, description, distribution (one the spec does not list becomes Unknown); public images are not ours.
            let updated = await h.call("PUT", "/v2/images/\(golden)", #"{"name":"web-abc-v2","description":"built by otto","distribution":"Ubuntu"}"#)
            #expect(updated.status == 200)
            #expect(updated.json?["image"]?["name"] == "web-abc-v2")
            #expect(updated.json?["image"]?["description"] == "built by otto")
            #expect(updated.json?["image"]?["distribution"] == "Ubuntu")
            #expect(updated.json?["image"]?["tags"] == ["golden"])
            let unknown = await h.call("PUT", "/v2/images/\(golden)", #"{"distribution":"Plan 9"}"#)
            #expect(unknown.json?["image"]?["distribution"] == "Unknown")
            #expect(unknown.json?["image"]?["name"] == "web-abc-v2")
            #expect(await h.call("PUT", "/v2/images/\(golden)", #"{"name":""}"#).status == 422)
            #expect(await h.call("PUT", "/v2/images/150000001", #"{"name":"mine"}"#).status == 404)
            #expect(await h.fake.imageSummaries().first?.name == "web-abc-v2")
        }
    }

    @Test func tagsMarkImagesAndDroplets() async throws {
        try await DigitalOceanHarness.run { h in
            let image = await h.fake.seedSnapshot(name: "web-abc")
            let (droplet, _) = try await h.createDroplet(#"{"name":"web-0","size":"s-1vcpu-1gb","image":"debian-12-x64","tags":["otto"]}"#)
            let tag = "otto-image:web-3f9a0c"

            // A droplet's tags exist as tags; a new tag carries nothing yet.
            #expect(await h.call("GET", "/v2/tags/otto").json?["tag"]?["resources"]?["droplets"]?["count"] == 1)
            let made = await h.call("POST", "/v2/tags", #"{"name":"\#(tag)"}"#)
            #expect(made.status == 201)
            #expect(made.json?["tag"]?["name"] == .string(tag))
            #expect(made.json?["tag"]?["resources"]?["count"] == 0)
            #expect(made.json?["tag"]?["resources"]?["images"] == ["count": 0])
            #expect(made.json?["tag"]?["resources"]?["last_tagged_uri"] == nil)
            #expect(await h.call("POST", "/v2/tags", #"{"name":"\#(tag)"}"#).status == 201, "creating an existing tag answers it")

            // Tag the image: it carries the tag and tag_name finds it.
            let assign = #"{"resources":[{"resource_id":"\#(image)","resource_type":"image"}]}"#
            #expect(await h.call("POST", "/v2/tags/\(tag)/resources", assign).status == 204)
            #expect(await h.call("POST", "/v2/tags/\(tag)/resources", assign).status == 204, "tagging twice is harmless")
            #expect(await h.call("GET", "/v2/images/\(image)").json?["image"]?["tags"] == [.string(tag)])
            #expect(await h.call("GET", "/v2/images", query: "tag_name=\(tag)").json?["images"]?.array?.map { $0["id"] } == [.int(image)])
            #expect(await h.call("GET", "/v2/snapshots/\(image)").json?["snapshot"]?["tags"] == [.string(tag)])
            var got = try #require(await h.call("GET", "/v2/tags/\(tag)").json?["tag"]?["resources"])
            #expect(got["count"] == 1)
            #expect(got["images"]?["count"] == 1)
            #expect(got["images"]?["last_tagged_uri"] == .string("http://127.0.0.1:\(h.server.port)/v2/images/\(image)"))
            #expect(got["droplets"]?["count"] == 0)

            // Tag the droplet too (otto re-tags droplets this way): the last tagged resource is the droplet.
            #expect(await h.call("POST", "/v2/tags/\(tag)/resources", #"{"resources":[{"resource_id":"\#(droplet)","resource_type":"droplet"}]}"#).status == 204)
            #expect(await h.call("GET", "/v2/droplets", query: "tag_name=\(tag)").json?["droplets"]?.array?.map { $0["id"] } == [.int(droplet)])
            #expect(await h.fake.dropletSummaries().first?.tags == ["otto", tag])
            got = try #require(await h.call("GET", "/v2/tags/\(tag)").json?["tag"]?["resources"])
            #expect(got["count"] == 2)
            #expect(got["last_tagged_uri"] == .string("http://127.0.0.1:\(h.server.port)/v2/droplets/\(droplet)"))
            #expect(await h.call("GET", "/v2/tags").json?["tags"]?.array?.compactMap { $0["name"]?.string } == ["otto", tag])

            // Untag the image: the tag stays, with the droplet only.
            #expect(await h.call("DELETE", "/v2/tags/\(tag)/resources", assign).status == 204)
            #expect(await h.call("GET", "/v2/images", query: "tag_name=\(tag)").json?["images"] == [])
            got = try #require(await h.call("GET", "/v2/tags/\(tag)").json?["tag"]?["resources"])
            #expect(got["count"] == 1)
            #expect(got["images"] == ["count": 0])

            // Refusals: unknown tag or resource (404, nothing changed), a type the spec does not know (422), a public
            // image (not the account's), a tag name outside the spec's pattern (400, DigitalOcean's root_causes body).
            #expect(await h.call("POST", "/v2/tags/nope/resources", assign).status == 404)
            let mixed = #"{"resources":[{"resource_id":"\#(image)","resource_type":"image"},{"resource_id":"1","resource_type":"droplet"}]}"#
            #expect(await h.call("POST", "/v2/tags/\(tag)/resources", mixed).status == 404)
            #expect(await h.call("GET", "/v2/images/\(image)").json?["image"]?["tags"] == [], "a refused request tags nothing")
            #expect(await h.call("POST", "/v2/tags/\(tag)/resources", #"{"resources":[{"resource_id":"150000001","resource_type":"image"}]}"#).status == 404)
            #expect(await h.call("POST", "/v2/tags/\(tag)/resources", #"{"resources":[{"resource_id":"1","resource_type":"kettle"}]}"#).status == 422)
            #expect(await h.call("POST", "/v2/tags/\(tag)/resources", #"{}"#).status == 422)
            let invalid = await h.call("POST", "/v2/tags", #"{"name":"not a tag!"}"#)
            #expect(invalid.status == 400)
            #expect(invalid.json?["error"]?.string?.contains("contains invalid characters") == true)
            #expect(invalid.json?["root_causes"]?.array?.count == 1)
            #expect(await h.call("GET", "/v2/tags/OTTO").status == 404, "tag names are exact")

            // Deleting a tag untags everything.
            #expect(await h.call("DELETE", "/v2/tags/\(tag)").status == 204)
            #expect(await h.call("GET", "/v2/tags/\(tag)").status == 404)
            #expect(await h.fake.dropletSummaries().first?.tags == ["otto"])
            #expect(await h.call("DELETE", "/v2/tags/\(tag)").status == 404)
            let counts = await h.fake.requestCounts()
            #expect(counts["POST /v2/tags/{tag_id}/resources"] == 8)
            #expect(counts["DELETE /v2/tags/{tag_id}/resources"] == 1)
        }
    }

    @Test func aDropletCanBeMadeFromASnapshot() async throws {
        try await DigitalOceanHarness.run { h in
            let (builder, _) = try await h.createDroplet(Self.builder)
            let (_, snapped) = try await h.act(builder, #"{"type":"snapshot","name":"web-golden"}"#)
            #expect(snapped == "completed")
            let image = try #require(await h.fake.imageSummaries().first?.id)
            let imageJSON = try #require(await h.call("GET", "/v2/images/\(image)").json?["image"])

            let created = await h.call("POST", "/v2/droplets", #"{"name":"web-1","size":"s-1vcpu-1gb","image":\#(image)}"#)
            #expect(created.status == 202)
            let droplet = try #require(created.json?["droplet"])
            #expect(droplet["image"] == imageJSON, "the droplet's image is the snapshot")
            #expect(await h.fake.dropletSummaries().last?.image == String(image))

            // Refused like DigitalOcean: unknown ids and slugs, another region than the snapshot's, a smaller disk.
            for body in [#"{"name":"x","size":"s-1vcpu-1gb","image":999999}"#, #"{"name":"x","size":"s-1vcpu-1gb","image":"no-such-os"}"#] {
                let refused = await h.call("POST", "/v2/droplets", body)
                #expect(refused.status == 422)
                #expect(refused.json?["message"] == "You specified an invalid image for Droplet creation.")
            }
            #expect(await h.call("POST", "/v2/droplets", #"{"name":"x","size":"s-1vcpu-1gb","image":\#(image),"region":"ams3"}"#).status == 422)
            #expect(await h.call("POST", "/v2/droplets", #"{"name":"x","size":"s-1vcpu-512mb-10gb","image":\#(image)}"#).status == 422)
            // Deleting the source droplet keeps the snapshot; deleting the snapshot keeps the droplet made from it.
            #expect(await h.call("DELETE", "/v2/droplets/\(builder)").status == 204)
            #expect(await h.call("GET", "/v2/images/\(image)").status == 200)
            #expect(await h.call("DELETE", "/v2/images/\(image)").status == 204)
            #expect(await h.call("GET", "/v2/droplets/\(droplet["id"]!.int!)").json?["droplet"]?["image"] == imageJSON)
            #expect(await h.fake.requestCounts()["POST /v2/droplets"] == 6)
        }
    }
}
