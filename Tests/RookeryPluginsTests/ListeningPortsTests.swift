import Foundation
import Testing

@Suite("listening_ports")
struct ListeningPortsTests {
    @Test("loopback sockets are skipped and programs are found through /proc/PID/fd")
    func portsAndPrograms() throws {
        let sandbox = try Sandbox(fixture: "debian-laptop")
        try sandbox.root.addProcess(pid: 812, name: "sshd", fileDescriptors: [3: "socket:[21001]", 4: "socket:[21011]", 5: "/dev/null"])
        try sandbox.root.addProcess(pid: 640, name: "avahi-daemon", uid: 107, fileDescriptors: [12: "socket:[21021]", 13: "socket:[21031]"])
        try sandbox.root.addProcess(pid: 700, name: "dhclient", fileDescriptors: [6: "socket:[21023]", 7: "pipe:[99]"])
        // cupsd (127.0.0.1:631, ::1:631) and systemd-resolved (127.0.0.53:53) are loopback only.
        try sandbox.root.addProcess(pid: 650, name: "cupsd", fileDescriptors: [7: "socket:[21002]", 8: "socket:[21012]"])

        let report = try sandbox.run("listening_ports")
        #expect(
            report == [
                "ports": [
                    ["protocol": "tcp", "address": "0.0.0.0", "port": 22, "program": "sshd"],
                    ["protocol": "tcp", "address": "::", "port": 22, "program": "sshd"],
                    ["protocol": "tcp", "address": "0.0.0.0", "port": 8080, "program": "unknown"],
                    ["protocol": "udp", "address": "192.168.0.23", "port": 68, "program": "dhclient"],
                    ["protocol": "udp", "address": "2001:db8:0:1::42", "port": 547, "program": "unknown"],
                    ["protocol": "udp", "address": "0.0.0.0", "port": 5353, "program": "avahi-daemon"],
                    ["protocol": "udp", "address": "::", "port": 5353, "program": "avahi-daemon"]
                ]
            ])
    }
}
