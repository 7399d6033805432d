package modbus

// vectors is the one table of annotated byte vectors that the encode,
// decode, framing and fuzz tests walk (mochi-mqtt tpackets style). Unless
// noted, the bytes are the examples of the Modbus Application Protocol
// Specification V1.1b3, in the section named by spec.
type vector struct {
	name string
	spec string
	// Exactly one of req (a request PDU), resp (a response PDU to req) or
	// exc (an exception response to req) is what pdu encodes; req is also
	// the request a response answers.
	req  *Request
	resp *Response
	exc  *ExceptionError
	pdu  []byte
	// Optional full ADUs of the PDU for unit, with transaction id tx.
	unit byte
	tx   uint16
	tcp  []byte
	rtu  []byte
}

func bits(s string) []bool {
	b := make([]bool, len(s))
	for i, c := range s {
		b[i] = c == '1'
	}
	return b
}

var (
	reqReadCoils    = &Request{Function: FuncReadCoils, Address: 19, Quantity: 19}
	reqReadDiscrete = &Request{Function: FuncReadDiscreteInputs, Address: 196, Quantity: 22}
	reqReadHolding  = &Request{Function: FuncReadHoldingRegisters, Address: 107, Quantity: 3}
	reqReadInput    = &Request{Function: FuncReadInputRegisters, Address: 8, Quantity: 1}
	reqWriteCoil    = &Request{Function: FuncWriteSingleCoil, Address: 172, Bits: []bool{true}}
	reqWriteCoilOff = &Request{Function: FuncWriteSingleCoil, Address: 0, Bits: []bool{false}}
	reqWriteReg     = &Request{Function: FuncWriteSingleRegister, Address: 1, Registers: []uint16{3}}
	reqWriteCoils   = &Request{Function: FuncWriteMultipleCoils, Address: 19, Bits: bits("1011001110")}
	reqWriteRegs    = &Request{Function: FuncWriteMultipleRegisters, Address: 1, Registers: []uint16{0x000A, 0x0102}}
	reqReadWrite    = &Request{Function: FuncReadWriteMultipleRegisters, Address: 3, Quantity: 6, WriteAddress: 14, Registers: []uint16{0xFF, 0xFF, 0xFF}}
	reqDeviceID     = &Request{Function: FuncEncapsulatedInterface, DeviceIDCode: DeviceIDBasic, ObjectID: 0}
	reqDeviceID2    = &Request{Function: FuncEncapsulatedInterface, DeviceIDCode: DeviceIDRegular, ObjectID: 2}
	reqTenRegs      = &Request{Function: FuncReadHoldingRegisters, Address: 0, Quantity: 10}
	reqOneReg       = &Request{Function: FuncReadHoldingRegisters, Address: 0, Quantity: 1}
)

var vectors = []vector{
	// Requests.
	{name: "FC01 read coils 20-38 request", spec: "§6.1", req: reqReadCoils,
		pdu: []byte{0x01, 0x00, 0x13, 0x00, 0x13}},
	{name: "FC02 read discrete inputs 197-218 request", spec: "§6.2", req: reqReadDiscrete,
		pdu: []byte{0x02, 0x00, 0xC4, 0x00, 0x16}},
	{name: "FC03 read holding registers 108-110 request", spec: "§6.3", req: reqReadHolding,
		pdu:  []byte{0x03, 0x00, 0x6B, 0x00, 0x03},
		unit: 0x11, tx: 0x0102,
		// MBAP: transaction 0x0102, protocol 0, length 6 (unit + 5), unit 0x11.
		tcp: []byte{0x01, 0x02, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03}},
	{name: "FC03 read 10 registers at 0, unit 1 (well-known RTU frame)", spec: "Serial Line V1.02 §2.5.1.2", req: reqTenRegs,
		pdu: []byte{0x03, 0x00, 0x00, 0x00, 0x0A}, unit: 1,
		rtu: []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD}}, // CRC 0xCDC5, low byte first
	{name: "FC03 read 1 register at 0, unit 1 (well-known RTU frame)", spec: "Serial Line V1.02 §2.5.1.2", req: reqOneReg,
		pdu: []byte{0x03, 0x00, 0x00, 0x00, 0x01}, unit: 1,
		rtu: []byte{0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0A}},
	{name: "FC04 read input register 9 request", spec: "§6.4", req: reqReadInput,
		pdu: []byte{0x04, 0x00, 0x08, 0x00, 0x01}},
	{name: "FC05 write coil 173 ON request", spec: "§6.5", req: reqWriteCoil,
		pdu: []byte{0x05, 0x00, 0xAC, 0xFF, 0x00}},
	{name: "FC05 write coil 1 OFF request", spec: "§6.5", req: reqWriteCoilOff,
		pdu: []byte{0x05, 0x00, 0x00, 0x00, 0x00}},
	{name: "FC06 write register 2 = 3 request", spec: "§6.6", req: reqWriteReg,
		pdu: []byte{0x06, 0x00, 0x01, 0x00, 0x03}},
	{name: "FC15 write 10 coils from 20 request", spec: "§6.11", req: reqWriteCoils,
		// byte count 2; 0xCD = coils 27..20 = 1100 1101, 0x01 = coils 29..28 = 01
		pdu: []byte{0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01}},
	{name: "FC16 write registers 2-3 request", spec: "§6.12", req: reqWriteRegs,
		pdu: []byte{0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02}},
	{name: "FC23 read 4-9, write 15-17 request", spec: "§6.17", req: reqReadWrite,
		pdu: []byte{0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF}},
	{name: "FC43/14 read basic device identification request", spec: "§6.21", req: reqDeviceID,
		pdu: []byte{0x2B, 0x0E, 0x01, 0x00}},
	{name: "FC43/14 read regular device identification from object 2 request", spec: "§6.21", req: reqDeviceID2,
		pdu: []byte{0x2B, 0x0E, 0x02, 0x02}},

	// Responses.
	{name: "FC01 read coils response", spec: "§6.1", req: reqReadCoils,
		resp: &Response{Function: FuncReadCoils, Bits: bits("1011001111010110101")},
		// 0xCD = coils 27..20, 0x6B = 35..28, 0x05 = 38..36 (high bits zero-filled)
		pdu: []byte{0x01, 0x03, 0xCD, 0x6B, 0x05}},
	{name: "FC02 read discrete inputs response", spec: "§6.2", req: reqReadDiscrete,
		resp: &Response{Function: FuncReadDiscreteInputs, Bits: bits("0011010111011011101011")},
		pdu:  []byte{0x02, 0x03, 0xAC, 0xDB, 0x35}},
	{name: "FC03 read holding registers response", spec: "§6.3", req: reqReadHolding,
		resp: &Response{Function: FuncReadHoldingRegisters, Registers: []uint16{0x022B, 0x0000, 0x0064}},
		pdu:  []byte{0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64},
		unit: 0x11, tx: 0x0102,
		tcp: []byte{0x01, 0x02, 0x00, 0x00, 0x00, 0x09, 0x11, 0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64}},
	{name: "FC04 read input register response", spec: "§6.4", req: reqReadInput,
		resp: &Response{Function: FuncReadInputRegisters, Registers: []uint16{0x000A}},
		pdu:  []byte{0x04, 0x02, 0x00, 0x0A}},
	{name: "FC05 write coil response echoes the request", spec: "§6.5", req: reqWriteCoil,
		resp: &Response{Function: FuncWriteSingleCoil, Address: 172, Bits: []bool{true}},
		pdu:  []byte{0x05, 0x00, 0xAC, 0xFF, 0x00}},
	{name: "FC06 write register response echoes the request", spec: "§6.6", req: reqWriteReg,
		resp: &Response{Function: FuncWriteSingleRegister, Address: 1, Registers: []uint16{3}},
		pdu:  []byte{0x06, 0x00, 0x01, 0x00, 0x03}},
	{name: "FC15 write coils response", spec: "§6.11", req: reqWriteCoils,
		resp: &Response{Function: FuncWriteMultipleCoils, Address: 19, Quantity: 10},
		pdu:  []byte{0x0F, 0x00, 0x13, 0x00, 0x0A}},
	{name: "FC16 write registers response", spec: "§6.12", req: reqWriteRegs,
		resp: &Response{Function: FuncWriteMultipleRegisters, Address: 1, Quantity: 2},
		pdu:  []byte{0x10, 0x00, 0x01, 0x00, 0x02}},
	{name: "FC23 read/write response", spec: "§6.17", req: reqReadWrite,
		resp: &Response{Function: FuncReadWriteMultipleRegisters, Registers: []uint16{0x00FE, 0x0ACD, 0x0001, 0x0003, 0x000D, 0x00FF}},
		pdu:  []byte{0x17, 0x0C, 0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF}},
	{name: "FC43/14 basic identification, all in one response", spec: "§6.21", req: reqDeviceID,
		resp: &Response{Function: FuncEncapsulatedInterface, DeviceIDCode: DeviceIDBasic, Conformity: 0x01, Objects: []DeviceObject{
			{ID: 0, Value: []byte("Company identification")}, {ID: 1, Value: []byte("Product code XX")}, {ID: 2, Value: []byte("V2.11")}}},
		pdu: append(append(append([]byte{0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03,
			0x00, 0x16}, "Company identification"...),
			append([]byte{0x01, 0x0F}, "Product code XX"...)...),
			append([]byte{0x02, 0x05}, "V2.11"...)...),
		unit: 1, tx: 7},
	{name: "FC43/14 regular identification, more follows from object 3", spec: "§6.21", req: reqDeviceID2,
		resp: &Response{Function: FuncEncapsulatedInterface, DeviceIDCode: DeviceIDRegular, Conformity: 0x82, MoreFollows: true, NextObjectID: 3,
			Objects: []DeviceObject{{ID: 2, Value: []byte("1.0")}}},
		pdu:  []byte{0x2B, 0x0E, 0x02, 0x82, 0xFF, 0x03, 0x01, 0x02, 0x03, '1', '.', '0'},
		unit: 9},

	// Exceptions.
	{name: "FC01 exception illegal data address", spec: "§7", req: &Request{Function: FuncReadCoils, Address: 1185, Quantity: 1},
		exc: &ExceptionError{Function: FuncReadCoils, Code: IllegalDataAddress},
		pdu: []byte{0x81, 0x02}, unit: 0x0A, tx: 0xFFFF},
	{name: "FC03 exception server busy", spec: "§7", req: reqTenRegs,
		exc: &ExceptionError{Function: FuncReadHoldingRegisters, Code: ServerBusy},
		pdu: []byte{0x83, 0x06}, unit: 1},
	{name: "FC16 exception illegal data value", spec: "§7", req: reqWriteRegs,
		exc: &ExceptionError{Function: FuncWriteMultipleRegisters, Code: IllegalDataValue},
		pdu: []byte{0x90, 0x03}},
	{name: "FC43 exception gateway target failed", spec: "§7", req: reqDeviceID,
		exc: &ExceptionError{Function: FuncEncapsulatedInterface, Code: GatewayTargetFailed},
		pdu: []byte{0xAB, 0x0B}, unit: 5},
}
