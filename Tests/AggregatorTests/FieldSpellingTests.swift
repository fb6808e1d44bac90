import Aggregator
import DaemonSupport
import HiTechDomain
import HiTechSchema
import Testing

/// The six fields have one spelling table, HiTechDomain's `Field`: the registry file, the store
/// and the wire mapping all read it.
@Suite("Field spellings")
struct FieldSpellingTests {
  @Test("every field round-trips through the wire; the registry file's names are the domain's raw values")
  func oneTable() {
    #expect(RegistryFile.fieldNames == ["information", "biology", "aerospace", "new_materials", "new_energy", "ocean"])
    #expect(RegistryFile.fieldNames == Field.allCases.map(\.rawValue))
    for field in Field.allCases {
      #expect(Field(Ndrc_Hitech_V1_Field(field)) == field)
    }
    #expect(Field(Ndrc_Hitech_V1_Field.unspecified) == nil)
    // Every wire value but UNSPECIFIED has a domain field.
    #expect(Ndrc_Hitech_V1_Field.allCases.filter { $0 != .unspecified }.compactMap { Field($0) }.count == Field.allCases.count)
  }
}
