package modbus

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to every decoder of the package: TCP and
// RTU ADUs, the RTU frame-length rule, the stream readers, request and
// response PDUs, and the server's request handling. Nothing may panic or
// hang; a request that decodes must encode back to the same bytes. The
// seed corpus is the vector table. CI runs:
//
//	go test -run '^$' -fuzz=FuzzDecode -fuzztime=20s -fuzzminimizetime=2s ./drivers/modbus/
func FuzzDecode(f *testing.F) {
	for _, v := range vectors {
		f.Add(v.pdu)
		f.Add(AppendRTUFrame(nil, v.unit, v.pdu))
		f.Add(AppendTCPFrame(nil, v.tx, v.unit, v.pdu))
	}
	s := NewServer(ServerConfig{UnknownUnit: UnknownUnitGatewayFailed})
	defer s.Close()
	u := s.AddUnit(1, NewBank(testBank))
	u.DeviceID = testDeviceID
	s.AddUnit(0, NewBank(testBank))
	var reqs []*Request
	for _, v := range vectors {
		reqs = append(reqs, v.req)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, _, pdu, err := DecodeTCPFrame(data); err == nil && len(pdu) == 0 {
			t.Fatalf("DecodeTCPFrame(% X) gave an empty PDU", data)
		}
		if _, pdu, err := DecodeRTUFrame(data); err == nil && len(pdu) < 1 {
			t.Fatalf("DecodeRTUFrame(% X) gave an empty PDU", data)
		}
		for _, request := range []bool{true, false} {
			if n := RTUFrameLen(data, request); n > 0 && n < 4 {
				t.Fatalf("RTUFrameLen(% X, %v) = %d, shorter than any frame", data, request, n)
			}
			rr := newRTUReader(bytes.NewReader(data), request)
			for range len(data) + 1 {
				frame, err := rr.next()
				if err != nil {
					break
				}
				if _, _, err := DecodeRTUFrame(frame); err != nil {
					t.Fatalf("rtuReader returned a bad frame % X: %v", frame, err)
				}
			}
		}
		tr := newTCPReader(bytes.NewReader(data))
		for range len(data) + 1 {
			if _, err := tr.next(); err != nil {
				break
			}
		}
		for _, r := range reqs {
			_, err := DecodeResponse(r, data)
			var ee *ExceptionError
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.As(err, &ee) {
				t.Fatalf("DecodeResponse(% X) error %v is neither malformed nor an exception", data, err)
			}
		}
		if req, err := DecodeRequest(data); err == nil {
			if err := req.Validate(); err != nil {
				t.Fatalf("DecodeRequest(% X) accepted an invalid request: %v", data, err)
			}
			again, _ := req.AppendPDU(nil)
			if req.Function != FuncWriteMultipleCoils && !bytes.Equal(again, data) { // FC15 may carry padding bits
				t.Fatalf("request % X re-encodes as % X", data, again)
			}
		}
		for _, unit := range []byte{0, 1, 9} {
			resp, ok := s.handle(unit, data, nil, unit != 0)
			if ok && (len(resp) < 2 || len(resp) > MaxPDULen) {
				t.Fatalf("server answered % X with a PDU of %d bytes", data, len(resp))
			}
		}
	})
}
