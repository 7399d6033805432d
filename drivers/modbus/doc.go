// Package modbus implements the Modbus protocol for Beacon's drivers, its
// simulator and its commissioning commands, from the Modbus Application
// Protocol Specification V1.1b3 and Modbus over Serial Line V1.02. No third
// party Modbus library is used.
//
// The package is layered:
//
//   - the PDU codec (pdu.go, exception.go): requests and responses of the
//     function codes 01, 02, 03, 04, 05, 06, 15, 16, 23 and 43/14, with the
//     protocol limits checked before anything is sent; no I/O;
//   - framing (frame.go, timing.go): the MBAP header of Modbus TCP, RTU frames
//     with their CRC-16, the length of an RTU frame from its function code,
//     and the character time and t3.5 silence of a serial line;
//   - the Client (client.go, conn.go): tcp://, rtutcp:// (RTU frames on a TCP
//     socket, as serial device servers speak) and rtu:// (a serial port),
//     with per-request deadlines, transaction matching, optional pipelining
//     and lazy reconnection with capped exponential backoff;
//   - the Server (server.go, bank.go): register banks per unit served over
//     TCP, RTU over TCP and RTU on a serial port or any io.ReadWriter, with
//     hooks to simulate devices and inject faults.
//
// The point-mapping driver (points, read planner, value types and byte
// orders) builds on the Client and on Request/Response sizes exported here.
package modbus
