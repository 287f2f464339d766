// 32-bit xorshift: the benches' deterministic pseudo-random source (the same sequence under both simulators,
// unlike $urandom). Included inside a bench module.
function automatic [31:0] xorshift(input [31:0] x);
  reg [31:0] y;
  begin
    y = x ^ (x << 13);
    y = y ^ (y >> 17);
    xorshift = y ^ (y << 5);
  end
endfunction
