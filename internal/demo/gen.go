package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/shebao/shebao/internal/ident"
)

// gen makes plausible people and employers from a seeded random source.
type gen struct {
	rng   *rand.Rand
	today time.Time
	used  map[string]bool
}

var (
	surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
		"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈"}
	givenChars = []rune("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰文辉斌宇浩然子轩欣怡梓涵雨桐一诺佳琪思远晨阳嘉怡俊杰")
	// Districts of Hangzhou, and some places people move from.
	localCodes    = []string{"330102", "330105", "330106", "330108", "330109", "330110", "330111", "330112"}
	nonLocalCodes = []string{"340104", "410105", "510104", "360102", "430102", "320102", "420106", "370102"}
	ethnicities   = []string{"汉族", "汉族", "汉族", "汉族", "汉族", "汉族", "汉族", "汉族", "回族", "满族", "土家族", "畲族"}
	industries    = []string{"软件和信息技术服务业", "零售业", "餐饮业", "建筑业", "纺织业", "道路运输业", "教育", "医药制造业"}
	companyWords  = []string{"西湖", "钱江", "之江", "运河", "湖滨", "良渚", "天目", "富春", "灵隐", "拱宸", "望江", "滨江", "云栖", "九溪"}
	companyKinds  = []string{"科技", "贸易", "餐饮管理", "建设工程", "纺织", "物流", "教育咨询", "医药", "电子商务", "文化传媒"}
	streets       = []string{"文三路", "教工路", "庆春路", "解放路", "延安路", "天目山路", "莫干山路", "江南大道", "文一西路", "学院路"}
)

func (g *gen) pick(xs []string) string { return xs[g.rng.IntN(len(xs))] }

func (g *gen) name() string {
	n := 1 + g.rng.IntN(2)
	s := g.pick(surnames)
	for range n {
		s += string(givenChars[g.rng.IntN(len(givenChars))])
	}
	return s
}

func (g *gen) ethnicity() string { return g.pick(ethnicities) }

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	b[0] = byte('1' + g.rng.IntN(9))
	return string(b)
}

func (g *gen) phone() string {
	return "1" + string("3456789"[g.rng.IntN(7)]) + g.digits(9)
}

func (g *gen) address() string {
	return fmt.Sprintf("杭州市%s%d号", g.pick(streets), 1+g.rng.IntN(400))
}

// idNumber makes a unique, valid ID number of a person aged 20–60, mostly born in the city.
func (g *gen) idNumber() ident.IDNumber {
	for {
		code := g.pick(localCodes)
		if g.rng.IntN(4) == 0 {
			code = g.pick(nonLocalCodes)
		}
		birth := g.today.AddDate(-20-g.rng.IntN(40), 0, -g.rng.IntN(365))
		n, err := ident.MakeIDNumber(fmt.Sprintf("%s%s%03d", code, birth.Format("20060102"), g.rng.IntN(1000)))
		if err != nil || g.used[string(n)] {
			continue
		}
		g.used[string(n)] = true
		return n
	}
}

// uscc makes a unique unified social credit code of a company registered in the city: its
// organisation code part carries its own GB 11714 check character, as real ones do.
func (g *gen) uscc() string {
	for {
		org, err := ident.MakeCardNumber(g.digits(8)) // same check rule as a GB 11714 organisation code
		if err != nil {
			continue
		}
		u, err := ident.MakeUSCC("91" + Region + string(org))
		if err != nil || g.used[string(u)] {
			continue
		}
		g.used[string(u)] = true
		return string(u)
	}
}

func (g *gen) employerName(i int) string {
	name := "杭州" + companyWords[i%len(companyWords)] + companyKinds[(i/len(companyWords))%len(companyKinds)] + "有限公司"
	if g.used[name] {
		name = fmt.Sprintf("%s第%d分公司", name[:len(name)-len("有限公司")]+"有限公司", i)
	}
	g.used[name] = true
	return name
}

// Tiny valid files for the demo's uploaded materials.
var (
	samplePDF = []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
	samplePNG = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
		0, 0, 0, 13, 'I', 'D', 'A', 'T', 0x78, 0x9c, 0x63, 0x60, 0, 0, 0, 2, 0, 1, 0xe5, 0x27, 0xde, 0xfc, 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82}
)
